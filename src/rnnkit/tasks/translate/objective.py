"""Translation as a loop task (:class:`rnnkit.tasks.Task`): pairs in batches, the loss of a batch, validation.

* Batches: pairs of similar lengths (sorted by the source's length, then the target's, within pools of batches drawn
  at random), so that little of the work is padding; ``Batch.targets`` is each translation between ``<s>`` and
  ``</s>`` ``[B, T + 2]``: the decoder reads ``targets[:, :-1]`` and predicts ``targets[:, 1:]``.
* Precision: with ``precision="bfloat16"`` the training passes run under ``torch.autocast`` (matrix products and the
  recurrent kernels in bfloat16, the weights, their updates and the loss in float32): on a CPU with bfloat16
  instructions (AVX-512 BF16, AMX) a step takes about 0.6 of the time. Validation and translation stay in float32.
* Loss: the cross-entropy of every real target token (``</s>`` included, padding not), with label smoothing
  (Szegedy et al. 2016; 0.1 in GNMT and the Transformer), computed on the real tokens only: the output layer over
  the whole target vocabulary is most of the work, and padding needs none of it.
* Validation: BLEU (sacreBLEU, every translation of a source a reference) of greedy translations, decoded exactly as
  :class:`~rnnkit.tasks.translate.translator.Translator` decodes, and the loss per token without smoothing; the
  task's ``score`` (``bleu`` or ``loss``) picks the best epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.data import BucketBatchSampler
from rnnkit.errors import DataError
from rnnkit.tasks.translate.data import Pairs, check_lengths, group_references
from rnnkit.tasks.translate.pieces import BOS_ID, EOS_ID, PAD_ID, Pieces
from rnnkit.tasks.translate.scoring import translation_scores
from rnnkit.tasks.translate.torch_translator import TorchTranslator
from rnnkit.tasks.translate.translator import Decoding
from rnnkit.text.encoding import length_batches, pad_batch
from rnnkit.training.objective import Batch, StepResult

SCORES = ("bleu", "loss")
PRECISIONS = ("float32", "bfloat16")


@dataclass
class EncodedPairs:
    """Every pair's piece ids, each side end to end: source ``i`` is ``source_ids[source_offsets[i]:][:n]`` with
    ``n = source_lengths[i]``, and the same for the target (without ``<s>`` and ``</s>``)."""

    source_ids: np.ndarray
    source_offsets: np.ndarray
    source_lengths: np.ndarray
    target_ids: np.ndarray
    target_offsets: np.ndarray
    target_lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.source_lengths)

    @property
    def target_tokens(self) -> int:
        """Tokens the decoder predicts: every target piece and each ``</s>``."""
        return int(self.target_lengths.sum()) + len(self)


def _flat(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lengths = np.array([len(row) for row in rows], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    ids = np.fromiter((i for row in rows for i in row), dtype=np.int64, count=int(lengths.sum()))
    return ids, offsets, lengths


def encode_pairs(
    pairs: Pairs, source_pieces: Pieces, target_pieces: Pieces, max_length: int | None = None
) -> EncodedPairs:
    """Cut both sides into pieces; a side left with none (a sentence of characters that normalisation removes) or a
    source over ``max_length`` pieces is refused, naming its line."""
    sources, targets = source_pieces.encode(pairs.sources), target_pieces.encode(pairs.targets)
    for side, rows in (("source", sources), ("target", targets)):
        empty = next((i for i, row in enumerate(rows) if not row), None)
        if empty is not None:
            raise DataError(f"{pairs.where(empty)}: the {side} sentence has no text left after normalisation")
    if max_length is not None:
        check_lengths(pairs, [len(row) for row in sources], max_length)
    return EncodedPairs(*_flat(sources), *_flat(targets))


def pair_batch(data: EncodedPairs, index: np.ndarray) -> tuple[Tensor, Tensor, Tensor]:
    """``(sources [B, S], lengths [B], targets [B, T + 2])``: padded with 0, each target as ``<s> y </s>``."""
    sources, lengths = pad_batch(data.source_ids, data.source_offsets, data.source_lengths, index)
    inner, target_lengths = pad_batch(data.target_ids, data.target_offsets, data.target_lengths, index)
    targets = np.full((len(index), inner.shape[1] + 2), PAD_ID, dtype=np.int64)
    targets[:, 0] = BOS_ID
    targets[:, 1:-1] = inner
    targets[np.arange(len(index)), target_lengths + 1] = EOS_ID
    return torch.from_numpy(sources), torch.from_numpy(lengths), torch.from_numpy(targets)


@dataclass
class Validation:
    """What validation reads: the encoded pairs (for the loss), each distinct source's pieces and all its
    translations (for BLEU), and the two sub-word models (to write translations as text)."""

    pairs: EncodedPairs
    sources: list[list[int]]
    references: list[list[str]]
    source_pieces: Pieces
    target_pieces: Pieces

    @classmethod
    def of(cls, pairs: Pairs, encoded: EncodedPairs, source_pieces: Pieces, target_pieces: Pieces) -> Validation:
        sources, references = group_references(pairs.sources, pairs.targets)
        return cls(encoded, source_pieces.encode(sources), references, source_pieces, target_pieces)


class TranslateTask:
    """Sentence pairs in length-bucketed batches of ``batch_size``; label-smoothed cross-entropy; validation BLEU
    (greedy, or beam search with ``beam`` > 1) and loss, ``score`` picking the best epoch."""

    def __init__(
        self,
        train: EncodedPairs,
        valid: Validation | None,
        batch_size: int,
        seed: int = 0,
        label_smoothing: float = 0.1,
        score: str = "bleu",
        beam: int = 1,
        rank: int = 0,
        world: int = 1,
        precision: str = "float32",
    ) -> None:
        if score not in SCORES:
            raise ValueError(f"the validation score must be one of {SCORES}, got {score!r}")
        self.train, self.valid = train, valid
        self.score = score
        self.higher_is_better = score == "bleu"
        self.has_validation = valid is not None
        self.label_smoothing = label_smoothing
        self.beam = beam
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.precision = precision
        # by the source's length, then the target's: both sides of a batch are of similar lengths
        key = torch.from_numpy(train.source_lengths * (int(train.target_lengths.max()) + 1) + train.target_lengths)
        self.sampler = BucketBatchSampler(key, batch_size, shuffle=True, seed=seed, rank=rank, world=world)

    def __len__(self) -> int:
        return len(self.sampler)

    def batches(self, epoch: int) -> Iterator[Batch]:
        self.sampler.set_epoch(epoch)
        for index in self.sampler:
            yield Batch(*pair_batch(self.train, index))

    def start_epoch(self) -> None:
        pass

    def advance(self, result: StepResult) -> None:
        pass

    def loss(self, model: nn.Module, batch: Batch, noise: Tensor | None = None, smoothing: float | None = None):
        inputs, wanted = batch.targets[:, :-1], batch.targets[:, 1:]
        keep = wanted != PAD_ID  # (B, T + 1): every real token and </s>
        lower = self.precision == "bfloat16" and model.training
        with torch.autocast(batch.ids.device.type, dtype=torch.bfloat16, enabled=lower):
            logits = model(batch.ids, batch.lengths, inputs, noise, keep)  # (N, V)
        wanted = wanted[keep]
        smoothing = self.label_smoothing if smoothing is None else smoothing
        loss = F.cross_entropy(logits, wanted, label_smoothing=smoothing)
        tokens = len(wanted)
        return StepResult(loss, tokens, tokens)  # no accuracy: an argmax over the vocabulary is 3% of a step

    def validate(self, model: nn.Module) -> dict[str, float]:
        """BLEU and chrF of the validation sources' translations, and the loss per target token (no smoothing)."""
        was_training = model.training
        v = self.valid
        translator = TorchTranslator(model, v.source_pieces, v.target_pieces, Decoding(beam=self.beam))
        found = translator.search(self.valid.sources)
        translations = self.valid.target_pieces.decode([hypotheses[0].tokens for hypotheses in found])
        scores = translation_scores(translations, self.valid.references)
        figures = {"bleu": scores["bleu"], "chrf": scores["chrf"], "loss": self.validation_loss(model)}
        model.train(was_training)
        return figures

    @torch.no_grad()
    def validation_loss(self, model: nn.Module, batch_size: int = 128) -> float:
        model.eval()
        device = next(model.parameters()).device
        total, tokens = 0.0, 0
        data = self.valid.pairs
        for index in length_batches(data.source_lengths, batch_size):
            result = self.loss(model, Batch(*pair_batch(data, index)).to(device), smoothing=0.0)
            total += float(result.loss) * result.count
            tokens += result.count
        return total / tokens


class StepBudget:
    """A task cut to ``steps`` batches per epoch, drawn from the task's own epochs one after another: a budget of
    steps over which the learning-rate schedule runs its whole course (warm-up, then decay to zero), as a time budget
    needs (:func:`rnnkit.tasks.translate.fit.plan_steps`). Everything else is the task's."""

    def __init__(self, task: TranslateTask, steps: int) -> None:
        self.task, self.steps = task, steps

    def __getattr__(self, name: str):
        return getattr(self.task, name)

    def __len__(self) -> int:
        return self.steps

    def batches(self, epoch: int) -> Iterator[Batch]:
        given, drawn = 0, (epoch - 1) * (-(-self.steps // len(self.task)) + 1)
        while given < self.steps:
            drawn += 1
            for batch in self.task.batches(drawn):
                yield batch
                given += 1
                if given == self.steps:
                    return
