"""Sub-word features: a word's character n-grams, hashed into a fixed number of buckets (fastText's way: Bojanowski
et al. 2017, *Enriching word vectors with subword information*), so that a word never seen in training still gets
a vector from its pieces, and a rare word shares what its pieces learnt from the common ones.

The n-grams of a word ``w`` are the substrings of 3 to 6 characters of ``<w>``: the angle brackets mark its ends, so
the prefix ``<un`` of "unhappy" and the ``un`` inside "fun>" differ. "bad" gives ``<ba``, ``bad``, ``ad>``,
``<bad``, ``bad>`` and ``<bad>``. Each n-gram's bucket is the CRC-32 of its UTF-8 bytes modulo ``buckets``, plus one:
the same number in every process, machine and Python version (Python's own ``hash`` of a string changes with each
process), so that a model trained in one process reads words the same way in another. Bucket 0 is no n-gram
(padding). A word longer than ``MAX_WORD_CHARS`` is read as its first and last halves, as the tagger spells it.

A batch carries each distinct word once: ``forms`` ``[B, T]`` gives each position's row of ``ngrams`` ``[U, K]`` (the
buckets of the batch's distinct words, padded with 0), and the network averages each row's bucket vectors. Row 0 of
every table is the padding's, with no n-gram.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnkit.text.vocab import PAD, UNK

MIN_N, MAX_N = 3, 6
MAX_WORD_CHARS = 24
CACHE_WORDS = 200_000  # words whose buckets are remembered; a service reading strangers' texts must not grow forever


class Subwords:
    """Hashed character n-grams of ``min_n`` to ``max_n`` characters into ``buckets`` buckets (ids 1..buckets)."""

    def __init__(self, buckets: int, min_n: int = MIN_N, max_n: int = MAX_N) -> None:
        if buckets < 1:
            raise ValueError(f"buckets must be at least 1, got {buckets}")
        if not 1 <= min_n <= max_n:
            raise ValueError(f"n-gram sizes must satisfy 1 <= min <= max, got {min_n} and {max_n}")
        self.buckets, self.min_n, self.max_n = buckets, min_n, max_n
        self._cache: dict[str, list[int]] = {}

    def __call__(self, word: str) -> list[int]:
        """The buckets of ``word``'s n-grams, in order of position then length (at least one: ``<w>`` itself when
        the word is shorter than ``min_n``)."""
        found = self._cache.get(word)
        if found is None:
            half = MAX_WORD_CHARS // 2
            marked = f"<{word[:half] + word[-half:] if len(word) > MAX_WORD_CHARS else word}>"
            pieces = [
                marked[start : start + n]
                for start in range(len(marked))
                for n in range(self.min_n, self.max_n + 1)
                if start + n <= len(marked)
            ] or [marked]
            found = [zlib.crc32(piece.encode("utf-8")) % self.buckets + 1 for piece in pieces]
            if len(self._cache) >= CACHE_WORDS:
                self._cache.clear()
            self._cache[word] = found
        return found

    def table(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(forms, ngrams)`` of a flat list of tokens: ``forms`` ``[N]`` (int64) each token's row of ``ngrams``
        ``[F + 1, K]`` (int32), the buckets of each distinct token padded with 0 (row 0: the padding's, none)."""
        rows: dict[str, int] = {}
        forms = np.fromiter((rows.setdefault(t, len(rows) + 1) for t in tokens), dtype=np.int64, count=len(tokens))
        return forms, self.rows(["", *rows])

    def rows(self, words: Sequence[str]) -> np.ndarray:
        """The buckets of each of ``words`` ``[N, K]``, a row each, padded with 0 (``""``: a row of none); int32, half
        the memory of a whole data set's table (a batch's is int64: :func:`batch_spellings`)."""
        spelled = [self(word) if word else [] for word in words]
        ngrams = np.zeros((len(spelled), max((len(s) for s in spelled), default=1) or 1), dtype=np.int32)
        for row, buckets in enumerate(spelled):
            ngrams[row, : len(buckets)] = buckets
        return ngrams

    def to_dict(self) -> dict[str, int]:
        return {"buckets": self.buckets, "min_n": self.min_n, "max_n": self.max_n}

    @classmethod
    def of(cls, config: Any) -> Subwords | None:
        """The n-grams a network of ``config`` reads (any task's configuration), or ``None`` if it reads none."""
        buckets = getattr(config, "subwords", 0)
        return cls(buckets, config.ngram_min, config.ngram_max) if buckets else None


def vocabulary_ngrams(config: Any, tokens: Sequence[str]) -> np.ndarray | None:
    """The n-grams ``[V, K]`` of every token of a vocabulary (``<pad>`` and ``<unk>``: none), for a network of
    ``config`` that reads its input by vocabulary id (a language model); ``None`` if it reads no sub-words."""
    subwords = Subwords.of(config)
    if subwords is None:
        return None
    return subwords.rows(["" if token in (PAD, UNK) else token for token in tokens])


def batch_spellings(forms: np.ndarray, ngrams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A batch's own ``(forms [B, T], ngrams [U, K])`` from its positions' rows ``forms`` ``[B, T]`` of a whole
    table ``ngrams``: each distinct row once, and no wider than its longest row."""
    distinct, inverse = np.unique(forms, return_inverse=True)
    rows = ngrams[distinct]
    width = max(1, int((rows > 0).sum(1).max()))  # rows are filled from the left
    return inverse.reshape(forms.shape), np.ascontiguousarray(rows[:, :width], dtype=np.int64)
