"""Tagging: a label for every token. Sentences in length-bucketed batches, the cross-entropy of every token's tag
(or, with a CRF, the negative log-likelihood of the whole tag sequence, per token), and token accuracy on the
validation sentences, decoded exactly as prediction decodes them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.data import BucketBatchSampler
from rnnkit.tasks.tag.tagger import Transitions, tag_encoded
from rnnkit.text.encoding import length_batches
from rnnkit.text.sentences import IGNORED, EncodedSentences, SentenceBatch, sentence_batch
from rnnkit.text.spellings import Spellings
from rnnkit.training.objective import Batch, StepResult


def network_inputs(batch: SentenceBatch) -> tuple[Tensor, Tensor, Spellings]:
    """``(ids, lengths, spellings)`` of a batch as tensors."""
    spellings = Spellings(batch.forms, batch.chars, batch.char_lengths, batch.ngrams).map(torch.from_numpy)
    return torch.from_numpy(batch.ids), torch.from_numpy(batch.lengths), spellings


def spelled(config: Any) -> bool:
    """Whether a tagger of ``config`` reads its words' spellings (characters, or sub-words)."""
    return config.characters is not None or bool(config.subwords)


def torch_scores(model: nn.Module):
    """``model`` as a function of a batch: its tag scores ``[B, T, K]`` as a NumPy array."""

    @torch.inference_mode()
    def scores(batch: SentenceBatch) -> np.ndarray:
        device = next(model.parameters()).device
        ids, lengths, spellings = network_inputs(batch)
        spellings = spellings.map(lambda t: t.to(device)) if spelled(model.config) else None
        return model(ids.to(device), lengths.to(device), spellings).cpu().numpy()

    return scores


def torch_transitions(model: nn.Module) -> Transitions | None:
    """The CRF's arrays (transitions, start, end) of a torch tagger, for Viterbi in NumPy; ``None`` without a CRF."""
    if not model.config.crf:
        return None
    crf = model.crf
    return tuple(t.detach().cpu().numpy() for t in (crf.transitions, crf.start_transitions, crf.end_transitions))


def tag_with(model: nn.Module, data: EncodedSentences, batch_size: int = 64) -> list[np.ndarray]:
    """The tag indices of every sentence of ``data`` by ``model`` (eval mode), as prediction finds them."""
    was_training = model.training
    model.eval()
    result = tag_encoded(data, torch_scores(model), torch_transitions(model), batch_size)
    model.train(was_training)
    return result


class TagTask:
    """Tagged sentences in length-bucketed batches of ``batch_size``; validation token accuracy."""

    score = "accuracy"
    higher_is_better = True

    def __init__(
        self,
        train: EncodedSentences,
        valid: EncodedSentences | None,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
    ):
        self.train, self.valid = train, valid
        lengths = torch.from_numpy(train.lengths)
        self.sampler = BucketBatchSampler(lengths, batch_size, shuffle=True, seed=seed, rank=rank, world=world)
        self.has_validation = valid is not None

    def __len__(self) -> int:
        return len(self.sampler)

    def batches(self, epoch: int) -> Iterator[Batch]:
        self.sampler.set_epoch(epoch)
        for indices in self.sampler:
            batch = sentence_batch(self.train, indices)
            ids, lengths, spellings = network_inputs(batch)
            yield Batch(ids, lengths, torch.from_numpy(batch.tags), spellings)

    def start_epoch(self) -> None:
        pass

    def loss(self, model: nn.Module, batch: Batch, noise: Tensor | None = None) -> StepResult:
        spellings = batch.spellings if spelled(model.config) else None
        scores = model(batch.ids, batch.lengths, spellings, noise)  # (B, T, K)
        tokens = int(batch.lengths.sum())
        if model.config.crf:
            return StepResult(model.crf(scores, batch.targets, batch.lengths), tokens, tokens)
        loss = F.cross_entropy(scores.flatten(0, 1), batch.targets.flatten(), ignore_index=IGNORED)
        correct = int((scores.detach().argmax(2) == batch.targets).sum())  # padding's target never matches
        return StepResult(loss, tokens, tokens, correct)

    def advance(self, result: StepResult) -> None:
        pass

    def validate(self, model: nn.Module) -> dict[str, float]:
        """Token accuracy, decoded as prediction decodes, and the loss per token (for ``curves.png``)."""
        predicted = np.concatenate(tag_with(model, self.valid))
        return {"accuracy": float((predicted == self.valid.tags).mean()), "loss": self.validation_loss(model)}

    @torch.no_grad()
    def validation_loss(self, model: nn.Module, batch_size: int = 64) -> float:
        """The training loss per token on the validation sentences, in evaluation mode."""
        was_training = model.training
        model.eval()
        total, tokens = 0.0, 0
        for index in length_batches(self.valid.lengths, batch_size):
            batch = sentence_batch(self.valid, index)
            ids, lengths, spellings = network_inputs(batch)
            on = Batch(ids, lengths, torch.from_numpy(batch.tags), spellings).to(next(model.parameters()).device)
            result = self.loss(model, on)
            total += float(result.loss) * result.count
            tokens += result.count
        model.train(was_training)
        return total / tokens
