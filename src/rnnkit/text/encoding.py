"""Texts to token ids, once, into flat NumPy arrays; batches of similar lengths; a batch padded into a matrix.

Training, evaluation and prediction all encode through here, so a text becomes the same ids everywhere, and the
onnxruntime path predicts without importing torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from rnnkit.text.vocab import PAD_ID, UNK_ID, Vocab


def encode_ids(
    texts: Sequence[str], tokenize: Callable[[str], list[str]], vocab: Vocab, max_length: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ids, offsets, lengths)``, int64: text ``i`` is ``ids[offsets[i] : offsets[i] + lengths[i]]``.

    Keeps the first ``max_length`` tokens; a text with no token becomes a single ``<unk>``, so that every sequence
    has a length of at least 1.
    """
    encoded = [
        vocab.encode(tokenize(text)[:max_length] if max_length else tokenize(text)) or [UNK_ID] for text in texts
    ]
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(encoded), dtype=np.int64)
    if len(encoded) > 1:
        np.cumsum(lengths[:-1], out=offsets[1:])
    flat = np.fromiter((i for e in encoded for i in e), dtype=np.int64, count=int(lengths.sum()))
    return flat, offsets, lengths


def length_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Indices sorted by length (stable), cut into batches: the least padding, in a fixed order (evaluation and
    prediction)."""
    order = np.argsort(lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(
    ids: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The texts ``index`` of an :func:`encode_ids` result as ``(ids [B, T], lengths [B])``, padded with
    ``<pad>`` to the longest of them."""
    batch_lengths = lengths[index]
    positions = np.arange(batch_lengths.max())
    valid = positions[None, :] < batch_lengths[:, None]  # (B, T)
    flat_positions = np.minimum(offsets[index][:, None] + positions[None, :], len(ids) - 1)
    return np.where(valid, ids[flat_positions], PAD_ID), batch_lengths
