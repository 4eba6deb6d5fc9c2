"""Language modelling: predict the next token at every step of running text.

The classical recipe (Zaremba et al. 2014; Karpathy's char-rnn; PyTorch's word-language-model example): the corpus
is cut into ``B`` parallel streams, read in windows of ``T`` tokens, and the recurrent state is carried from one
window to the next, detached, so that the network learns from context longer than a window at the cost of
back-propagating through one (truncated backpropagation through time). The loss is the cross-entropy of every next
token, in nats per token; validation reads the held-out text the same way, from a zero state, every token counted
once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.data.corpus import batchify, windows
from rnnkit.metrics import language_model_figures, text_loss
from rnnkit.tasks.lm.network import detach_state
from rnnkit.training.objective import Batch, StepResult


def validation_loss(model: nn.Module, ids: Tensor, window: int) -> float:
    """``model``'s loss (nats per token) on the token stream ``ids``, read as :func:`rnnkit.metrics.text_loss`
    reads a text for ``rnnkit evaluate``: the same figure, from the network being trained."""
    was_training = model.training
    model.eval()

    device = next(model.parameters()).device

    @torch.inference_mode()
    def step(inputs: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        logits, state = model(torch.from_numpy(inputs).to(device), state)  # (B, t, V); the state stays on the device
        return logits.cpu().numpy(), state

    loss, _ = text_loss(step, ids.numpy(), window=window)
    model.train(was_training)
    return loss


class LanguageModelTask:
    """The training text as ``batch_size`` streams read in windows of ``window`` tokens; validation loss (lower is
    better) on the held-out text."""

    score = "loss"
    higher_is_better = False

    def __init__(
        self,
        train: Tensor,
        valid: Tensor | None,
        batch_size: int,
        window: int,
        characters: bool,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        # Under torchrun, ``world`` processes read ``world * batch_size`` streams, ``batch_size`` each.
        self.streams = batchify(train, batch_size * world)[rank * batch_size : (rank + 1) * batch_size]  # (B, N)
        self.window = window
        self.valid = valid
        self.characters = characters
        self.has_validation = valid is not None
        self.state: Any = None

    def __len__(self) -> int:
        return -(-(self.streams.shape[1] - 1) // self.window)

    def start_epoch(self) -> None:
        self.state = None  # each epoch reads the streams from their start

    def batches(self, epoch: int) -> Iterator[Batch]:
        for inputs, targets in windows(self.streams, self.window):
            yield Batch(inputs, None, targets)

    def loss(self, model: nn.Module, batch: Batch, noise: Tensor | None = None) -> StepResult:
        logits, state = model(batch.ids, self.state, noise)  # (B, t, V)
        loss = F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten())
        return StepResult(loss, batch.targets.numel(), batch.ids.numel(), carry=detach_state(state))

    def advance(self, result: StepResult) -> None:
        self.state = result.carry

    def state_dict(self) -> dict[str, Any]:
        """The recurrent state carried into the next window: saved with a checkpoint taken within an epoch."""
        return {"carry": self.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state = state["carry"]

    def validate(self, model: nn.Module) -> dict[str, float]:
        return language_model_figures(validation_loss(model, self.valid, self.window), self.characters)
