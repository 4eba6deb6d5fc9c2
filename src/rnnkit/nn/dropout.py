"""Dropout with a cheaper mask: the same distribution as ``torch.nn.Dropout``, drawn faster on a CPU.

torch draws a dropout mask with ``bernoulli_``, about 9 ns an element on this project's CPU, which was 7% of a
training step of the default network (benchmarks/RESULTS.md). ``rand_like(x) >= p`` keeps each element with the
same probability ``1 - p`` and draws in about a third of the time.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the rest by ``1/(1-p)``."""
    if not training or p == 0.0:
        return x
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {p}")
    return x * ((torch.rand_like(x) >= p) * (1.0 / (1.0 - p)))


class Dropout(nn.Module):
    """:func:`dropout` as a module: active in training mode only, like ``torch.nn.Dropout``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {p}")
        self.p = p

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)
