"""What the one training loop asks of the model it trains: batches, the loss of a batch, and the validation score
with its direction (:class:`Objective`). Each task gives one (``rnnkit.tasks.<name>.objective``); everything else
(optimiser, schedule, clipping, early stopping, checkpoints and resume, progress, logs, weight averaging,
adversarial moves, several processes) lives once in :mod:`rnnkit.training.trainer`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Batch", "Objective", "StepResult"]


@dataclass
class Batch:
    """A training batch as the network reads it: ``ids`` ``[B, T]``, ``lengths`` ``[B]`` (``None``: all ``T``
    long), the ``targets`` the loss compares with (a class per text, the next token or the tag at every step), and
    the words' ``spellings`` (:class:`rnnkit.text.spellings.Spellings`) where the network reads more of a word than
    its id: characters, or sub-words."""

    ids: Any
    lengths: Any
    targets: Any
    spellings: Any = None

    def to(self, device: Any) -> Batch:
        """The batch on ``device`` (the network's), lengths too (masks are built beside the outputs)."""
        if device is None or getattr(self.ids, "device", device) == device:
            return self

        def move(t: Any) -> Any:
            return None if t is None else t.to(device, non_blocking=True)

        spellings = None if self.spellings is None else self.spellings.map(move)
        return Batch(move(self.ids), move(self.lengths), move(self.targets), spellings)


@dataclass
class StepResult:
    """What one forward pass over a training batch gives the loop."""

    loss: Any  # a scalar tensor: the batch's mean loss, back-propagated by the loop
    count: int  # what that mean is over (texts, or tokens), for the epoch's running mean
    tokens: int  # input tokens read, for the rate on the progress bar
    correct: int | None = None  # right answers, where the task has them
    carry: Any = None  # state to carry into the next batch (a language model's recurrent state), if any


class Objective(Protocol):
    """What the training loop needs from a kind of model: its batches, the loss of a batch and its validation."""

    score: str  # the validation figure that picks the best epoch, e.g. "macro_f1" or "loss"
    higher_is_better: bool
    has_validation: bool  # without validation data the last epoch is kept

    def __len__(self) -> int:
        """Training batches per epoch."""

    def batches(self, epoch: int) -> Iterator[Batch]:
        """The training batches of ``epoch``: the same seed and epoch give the same batches."""

    def loss(self, model: Any, batch: Batch, noise: Any = None) -> StepResult:
        """The loss of ``batch``; ``noise`` (shaped ``model.noise_shape``) is added to the word embeddings."""

    def advance(self, result: StepResult) -> None:
        """Take what the clean pass over a batch carries into the next one (nothing for most tasks)."""

    def start_epoch(self) -> None:
        """Called before each epoch's first batch (a language model starts its streams from a zero state)."""

    def validate(self, model: Any) -> dict[str, float]:
        """Validation figures, ``score`` among them."""
