"""Classification: one label per text. Length-bucketed batches, cross-entropy on the class scores, and
accuracy and macro-F1 on the validation cut."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.data import BucketBatchSampler, EncodedTexts, collate
from rnnkit.metrics import classification_report
from rnnkit.training.distributed import Replicas
from rnnkit.training.objective import Batch, StepResult
from rnnkit.training.trainer import FitResult, TrainConfig, train_loop

METRICS = ("accuracy", "macro_f1")


@torch.inference_mode()
def predict_logits(model: nn.Module, data: EncodedTexts, batch_size: int = 256) -> Tensor:
    """Logits ``[N, C]`` in the data's order; batches sorted by length so padding stays small."""
    was_training = model.training
    model.eval()
    outputs, order = [], []
    device = next(model.parameters()).device
    for indices in BucketBatchSampler(data.lengths, batch_size, shuffle=False):
        batch = Batch(*collate(data, indices)).to(device)
        outputs.append(model(batch.ids, batch.lengths, spellings=batch.spellings).cpu())
        order.append(torch.as_tensor(indices))
    model.train(was_training)
    logits = torch.cat(outputs)
    result = torch.empty_like(logits)
    result[torch.cat(order)] = logits
    return result


def evaluate_model(model: nn.Module, data: EncodedTexts, labels: list[str]) -> dict[str, Any]:
    predicted = predict_logits(model, data).argmax(1)
    return classification_report(data.labels.numpy(), predicted.numpy(), labels)


class BucketedTexts:
    """Texts in length-bucketed batches of ``batch_size``, reshuffled each epoch (under torchrun, this process's
    part of each: :mod:`rnnkit.training.distributed`): how every task on texts batches them."""

    def __init__(self, train: EncodedTexts, batch_size: int, seed: int = 0, rank: int = 0, world: int = 1) -> None:
        self.train = train
        self.sampler = BucketBatchSampler(train.lengths, batch_size, shuffle=True, seed=seed, rank=rank, world=world)

    def __len__(self) -> int:
        return len(self.sampler)

    def batches(self, epoch: int) -> Iterator[Batch]:
        self.sampler.set_epoch(epoch)
        for indices in self.sampler:
            yield Batch(*collate(self.train, indices))

    def start_epoch(self) -> None:
        pass

    def advance(self, result: StepResult) -> None:
        pass


class ClassifyTask(BucketedTexts):
    """Labelled texts in length-bucketed batches of ``batch_size``, scored by validation ``metric``."""

    higher_is_better = True

    def __init__(
        self,
        train: EncodedTexts,
        valid: EncodedTexts | None,
        labels: list[str],
        batch_size: int,
        seed: int = 0,
        metric: str = "macro_f1",
        label_smoothing: float = 0.0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        super().__init__(train, batch_size, seed, rank, world)
        self.valid, self.labels = valid, labels
        self.score = metric
        self.label_smoothing = label_smoothing
        self.has_validation = valid is not None

    def loss(self, model: nn.Module, batch: Batch, noise: Tensor | None = None) -> StepResult:
        logits = model(batch.ids, batch.lengths, noise, batch.spellings)  # (B, C)
        loss = F.cross_entropy(logits, batch.targets, label_smoothing=self.label_smoothing)
        correct = int((logits.detach().argmax(1) == batch.targets).sum())
        return StepResult(loss, len(batch.ids), int(batch.lengths.sum()), correct)

    def advance(self, result: StepResult) -> None:
        pass

    def validate(self, model: nn.Module) -> dict[str, float]:
        """Accuracy, macro-F1 and the cross-entropy (drawn beside the training loss in ``curves.png``)."""
        logits = predict_logits(model, self.valid)
        report = classification_report(self.valid.labels.numpy(), logits.argmax(1).numpy(), self.labels)
        loss = float(F.cross_entropy(logits, self.valid.labels))
        return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "loss": loss}


def fit(
    model: nn.Module,
    train: EncodedTexts,
    valid: EncodedTexts | None,
    labels: list[str],
    config: TrainConfig,
    run_dir: str | Path | None = None,
    resume: bool = False,
    fingerprint: str = "",
    progress: bool = True,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
    name: str = "",
    replicas: Replicas | None = None,
) -> FitResult:
    """Train a classifier in place and leave the best weights (by validation ``config.metric``) in it."""
    place = {"rank": replicas.rank, "world": replicas.world} if replicas is not None else {}
    metric = config.metric or "macro_f1"
    task = ClassifyTask(train, valid, labels, config.batch_size, config.seed, metric, config.label_smoothing, **place)
    return train_loop(model, task, config, run_dir, resume, fingerprint, progress, on_epoch_end, name, replicas)
