"""Encoded data sets, length-bucketed batches and the collate step, all on flat tensors.

Texts are tokenised and encoded once, up front, into one flat id tensor with offsets; a batch is then
assembled by tensor indexing, with no Python work per token. Buckets of similar lengths keep padding
(and so wasted work) small while the order of batches stays random.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from rnnkit.text import Vocab, encode_ids, length_batches
from rnnkit.text.encoding import EncodedIds
from rnnkit.text.spellings import Spellings
from rnnkit.text.subwords import Subwords


@dataclass
class EncodedTexts:
    """``ids`` is every text's token ids end to end; text ``i`` is ``ids[offsets[i] : offsets[i] + lengths[i]]``.
    For a network that reads sub-words, ``forms`` gives each token's row of ``ngrams``
    (:class:`rnnkit.text.subwords.Subwords`)."""

    ids: Tensor  # (total tokens,) int64
    offsets: Tensor  # (N,) int64
    lengths: Tensor  # (N,) int64, each >= 1
    labels: Tensor | None  # (N,) int64 class indices
    forms: np.ndarray | None = None  # (total tokens,) int64
    ngrams: np.ndarray | None = None  # (distinct tokens + 1, K) int32; a batch's own are int64

    def __len__(self) -> int:
        return len(self.lengths)


def encode_texts(
    texts: Sequence[str],
    tokenize: Callable[[str], list[str]],
    vocab: Vocab,
    max_length: int | None = None,
    labels: Sequence[int] | None = None,
    subwords: Subwords | None = None,
) -> EncodedTexts:
    """Tokenise and encode every text once (:func:`rnnkit.text.encode_ids`), as tensors with their labels."""
    encoded = encode_ids(texts, tokenize, vocab, max_length, subwords)
    return EncodedTexts(
        torch.from_numpy(encoded.ids),
        torch.from_numpy(encoded.offsets),
        torch.from_numpy(encoded.lengths),
        None if labels is None else torch.as_tensor(labels, dtype=torch.long),
        encoded.forms,
        encoded.ngrams,
    )


def collate(
    data: EncodedTexts, indices: Sequence[int] | Tensor
) -> tuple[Tensor, Tensor, Tensor | None, Spellings | None]:
    """``(ids [B, T], lengths [B], labels [B] or None, spellings)``, padded with ``<pad>`` to the longest in the
    batch; ``spellings`` (``forms`` and ``ngrams``) where the texts were encoded with sub-words, else ``None``."""
    index = np.asarray(indices, dtype=np.int64)
    encoded = EncodedIds(data.ids.numpy(), data.offsets.numpy(), data.lengths.numpy(), data.forms, data.ngrams)
    ids, lengths, spellings = encoded.batch(index)
    labels = None if data.labels is None else data.labels[torch.from_numpy(index)]
    spellings = None if spellings is None else spellings.map(torch.from_numpy)
    return torch.from_numpy(ids), torch.from_numpy(lengths), labels, spellings


class BucketBatchSampler:
    """Batches of indices of similar length, in random order; the same seed and epoch give the same batches.

    Each epoch shuffles all indices, cuts them into pools of ``pool_batches * batch_size``, sorts each pool by
    length, cuts it into batches and shuffles the batches. With ``shuffle=False`` (evaluation) it sorts
    everything by length once: the least padding, in a fixed order.
    """

    def __init__(
        self,
        lengths: Tensor,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        pool_batches: int = 50,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not 0 <= rank < world:
            raise ValueError(f"rank must be in 0..{world - 1}, got {rank}")
        self.lengths = lengths.numpy()
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.pool_batches = pool_batches
        self.rank, self.world = rank, world
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        if not self.shuffle or self.world == 1:
            return -(-len(self.lengths) // self.batch_size)
        size = self.batch_size * self.world
        pool = size * self.pool_batches
        rest = len(self.lengths) % pool
        dropped = 0 < rest % size < self.world  # a last batch too small to give every process a text
        return len(self.lengths) // pool * self.pool_batches + -(-rest // size) - dropped

    def __iter__(self) -> Iterator[np.ndarray]:
        """Under ``world`` processes, the batches of ``batch_size * world`` indices that one process would draw,
        each cut into ``world`` parts of similar lengths (the batch is sorted by length) of which this ``rank``
        takes its own: together the processes take one process's step, and every process takes the same number of
        steps (a last batch smaller than ``world`` is left out: unequal step counts would hang the others)."""
        size = self.batch_size * self.world
        if not self.shuffle:
            yield from length_batches(self.lengths, self.batch_size)
            return
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        pool = size * self.pool_batches
        batches = []
        for start in range(0, len(order), pool):
            chunk = order[start : start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
        for i in rng.permutation(len(batches)):
            if self.world == 1:
                yield batches[i]
            elif len(batches[i]) >= self.world:
                yield np.array_split(batches[i], self.world)[self.rank]
