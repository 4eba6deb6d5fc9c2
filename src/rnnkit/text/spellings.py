"""``Spellings``: how a batch's words are spelled, for a network that reads more of a word than its id.

Every distinct word of a batch is spelled once, and ``forms`` ``[B, T]`` gives each position its row: a tagger's
character encoder reads ``chars`` ``[U, L]`` (character ids, padded with 0) of ``char_lengths`` ``[U]``; a sub-word
body averages the vectors of ``ngrams`` ``[U, K]`` (hashed character n-grams, padded with 0:
:mod:`rnnkit.text.subwords`). The parts a network does not read are ``None``. Arrays or tensors alike.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Spellings(NamedTuple):
    forms: Any  # [B, T]: each position's row of the parts below
    chars: Any = None  # [U, L]
    char_lengths: Any = None  # [U]
    ngrams: Any = None  # [U, K]

    def map(self, function: Any) -> Spellings:
        """The same spellings with ``function`` applied to each part present (to tensors, to a device ...)."""
        return Spellings(*(None if part is None else function(part) for part in self))
