"""Pretraining: a classifier's body learns to predict each word of its texts from the words before it (and, for a
bidirectional body, from the words after it), from labelled and unlabelled texts alike (ULMFiT's first stages).

Texts are read one by one, batched by length as the classifier batches them (:class:`ClassifyTask`'s sampler);
every word but a text's last is a target of the forward direction, every word but its first a target of the
backward one. The loss is the mean cross-entropy over all those targets, in nats per word; validation reads the
held-out texts the same way.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.data import BucketBatchSampler, EncodedTexts, collate
from rnnkit.tasks.classify.objective import BucketedTexts
from rnnkit.training.objective import Batch, StepResult

IGNORED = -100  # no target here: padding, or beyond a text's ends


def shifted_targets(ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """``(next, previous)`` ``[B, T]``: the word after each position and the word before it, ``IGNORED`` past a
    text's ends and at padding."""
    positions = torch.arange(ids.shape[1], device=ids.device)[None, :]
    following = F.pad(ids[:, 1:], (0, 1), value=IGNORED).masked_fill(positions + 1 >= lengths[:, None], IGNORED)
    preceding = F.pad(ids[:, :-1], (1, 0), value=IGNORED).masked_fill(positions >= lengths[:, None], IGNORED)
    return following, preceding


def text_loss(model: nn.Module, batch: Batch, noise: Tensor | None = None) -> tuple[Tensor, int]:
    """The mean cross-entropy of every target of ``batch`` (both directions), and how many there are."""
    states = model(batch.ids, batch.lengths, noise, batch.spellings)
    total, count = model.nll(states, list(shifted_targets(batch.ids, batch.lengths)), IGNORED)
    return total / max(1, count), count


class PretrainTask(BucketedTexts):
    """Texts (labels unused) in length-bucketed batches of ``batch_size``; validation loss, lower is better."""

    score = "loss"
    higher_is_better = False

    def __init__(
        self,
        train: EncodedTexts,
        valid: EncodedTexts | None,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        super().__init__(train, batch_size, seed, rank, world)
        self.valid = valid
        self.has_validation = valid is not None

    def loss(self, model: nn.Module, batch: Batch, noise: Tensor | None = None) -> StepResult:
        loss, count = text_loss(model, batch, noise)
        return StepResult(loss, count, int(batch.lengths.sum()))

    @torch.inference_mode()
    def validate(self, model: nn.Module) -> dict[str, float]:
        """The loss over every target of the validation texts, and its perplexity."""
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        total = count = 0.0
        for indices in BucketBatchSampler(self.valid.lengths, 256, shuffle=False):
            batch = Batch(*collate(self.valid, indices)).to(device)
            loss, n = text_loss(model, batch)
            total, count = total + float(loss) * n, count + n
        model.train(was_training)
        loss = total / max(1.0, count)
        return {"loss": loss, "perplexity": math.exp(min(loss, 50.0))}
