"""Texts to token ids, once, into flat NumPy arrays; batches of similar lengths; a batch padded into a matrix.

Training, evaluation and prediction all encode through here, so a text becomes the same ids (and, for a network
that reads sub-words, the same n-grams) everywhere, and the onnxruntime path predicts without importing torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rnnkit.text.spellings import Spellings
from rnnkit.text.subwords import Subwords, batch_spellings
from rnnkit.text.vocab import PAD_ID, UNK, Vocab


@dataclass
class EncodedIds:
    """Texts end to end: text ``i`` is ``ids[offsets[i] : offsets[i] + lengths[i]]`` (int64). With sub-words,
    ``forms`` gives each token's row of ``ngrams`` (:meth:`rnnkit.text.subwords.Subwords.table`)."""

    ids: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray
    forms: np.ndarray | None = None
    ngrams: np.ndarray | None = None
    truncated: np.ndarray | None = None  # [N]: the tokens of each text beyond max_length, not read

    def batch(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, Spellings | None]:
        """The texts ``index`` as ``(ids [B, T], lengths [B], spellings)``, padded with ``<pad>`` to the longest:
        ``spellings`` holds ``forms [B, T]`` and ``ngrams [U, K]`` for a network that reads sub-words, else is
        ``None``."""
        ids, lengths = pad_batch(self.ids, self.offsets, self.lengths, index)
        if self.forms is None or self.ngrams is None:
            return ids, lengths, None
        forms, _ = pad_batch(self.forms, self.offsets, self.lengths, index)  # padding: row 0, no n-gram
        forms, ngrams = batch_spellings(forms, self.ngrams)
        return ids, lengths, Spellings(forms, ngrams=ngrams)


def encode_ids(
    texts: Sequence[str],
    tokenize: Callable[[str], list[str]],
    vocab: Vocab,
    max_length: int | None = None,
    subwords: Subwords | None = None,
) -> EncodedIds:
    """Tokenise and encode every text, keeping its first ``max_length`` tokens (``truncated`` counts the tokens of
    each beyond them, which are not read); a text with no token becomes a single ``<unk>``, so that every sequence
    has a length of at least 1. With ``subwords``, each token's n-grams too.
    """
    tokens: list[list[str]] = []
    truncated = np.zeros(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        words = tokenize(text)
        if max_length and len(words) > max_length:
            truncated[i] = len(words) - max_length
            words = words[:max_length]
        tokens.append(words or [UNK])
    lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    offsets = np.zeros(len(tokens), dtype=np.int64)
    if len(tokens) > 1:
        np.cumsum(lengths[:-1], out=offsets[1:])
    flat = [token for text in tokens for token in text]
    ids = np.array(vocab.encode(flat), dtype=np.int64).reshape(-1)
    if subwords is None:
        return EncodedIds(ids, offsets, lengths, truncated=truncated)
    forms, ngrams = subwords.table(flat)
    return EncodedIds(ids, offsets, lengths, forms, ngrams, truncated)


def length_batches(lengths: np.ndarray, batch_size: int, max_tokens: int | None = None) -> list[np.ndarray]:
    """Indices sorted by length (stable), cut into batches: the least padding, in a fixed order (evaluation and
    prediction). With ``max_tokens``, a batch also holds at most that many padded tokens (its size times its
    longest length; a longer sequence alone), so that long sequences come in fewer at a time."""
    order = np.argsort(lengths, kind="stable")
    if max_tokens is None:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    batches, start = [], 0
    for end, i in enumerate(order):  # the batch order[start:end] grows by order[end] while it fits
        if end > start and (end - start == batch_size or (end - start + 1) * lengths[i] > max_tokens):
            batches.append(order[start:end])
            start = end
    if start < len(order):
        batches.append(order[start:])
    return batches


def pad_batch(
    ids: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The texts ``index`` of a flat array ``ids`` (``offsets``, ``lengths``) as ``(ids [B, T], lengths [B])``,
    padded with ``<pad>`` (0) to the longest of them."""
    batch_lengths = lengths[index]
    positions = np.arange(batch_lengths.max())
    valid = positions[None, :] < batch_lengths[:, None]  # (B, T)
    flat_positions = np.minimum(offsets[index][:, None] + positions[None, :], len(ids) - 1)
    return np.where(valid, ids[flat_positions], PAD_ID), batch_lengths
