"""Pooling a sequence of outputs into one vector, over valid positions only.

A classifier reads one vector per text. These poolings look only at each sequence's own tokens, so padding a
batch further never changes a result, and a text is classified the same whatever batch it is in.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

POOLINGS = ("last", "mean", "max", "attention", "concat")


def valid_mask(lengths: Tensor, steps: int) -> Tensor:
    """``[B, T]`` boolean mask, True at positions ``t < lengths[b]``."""
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]


class Pooling(nn.Module):
    """Pool ``outputs`` ``[B, T, D*H]`` with ``lengths`` ``[B]`` into ``[B, D*H]``.

    * ``last``: the forward state after each sequence's last token; when bidirectional, joined with the backward
      state after the first token (the backward direction reads the sequence from its end). Equals the top
      layer of the recurrent layer's ``h_n``.
    * ``mean``: the average over valid positions.
    * ``max``: the element-wise maximum over valid positions.
    * ``attention``: ``softmax(outputs @ v)`` over valid positions weights the average, ``v`` learned.
    * ``concat``: ``last``, ``max`` and ``mean`` joined, ``[B, 3*D*H]`` (ULMFiT's concat pooling).
    """

    def __init__(self, method: str, input_size: int, bidirectional: bool = False) -> None:
        super().__init__()
        if method not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {method!r}")
        self.method = method
        self.bidirectional = bidirectional
        self.output_size = input_size * (3 if method == "concat" else 1)
        if method == "attention":
            self.score = nn.Linear(input_size, 1, bias=False)  # the learned scoring vector v

    def extra_repr(self) -> str:
        return self.method

    def forward(self, outputs: Tensor, lengths: Tensor | None = None) -> Tensor:
        batch, steps, size = outputs.shape
        if lengths is None:
            lengths = torch.full((batch,), steps, dtype=torch.long, device=outputs.device)
        lengths = lengths.to(outputs.device)
        if self.method == "concat":
            return torch.cat([self._pool(m, outputs, lengths) for m in ("last", "max", "mean")], dim=1)
        return self._pool(self.method, outputs, lengths)

    def _pool(self, method: str, outputs: Tensor, lengths: Tensor) -> Tensor:
        batch, steps, size = outputs.shape
        if method == "last":
            last = (lengths - 1)[:, None, None].expand(-1, 1, size)
            pooled = outputs.gather(1, last).squeeze(1)  # (B, D*H) at each sequence's last token
            if self.bidirectional:
                half = size // 2
                pooled = torch.cat([pooled[:, :half], outputs[:, 0, half:]], dim=1)
            return pooled
        mask = valid_mask(lengths, steps)[:, :, None]  # (B, T, 1)
        if method == "max":
            return outputs.masked_fill(~mask, float("-inf")).amax(1)
        outputs = outputs.masked_fill(~mask, 0.0)
        if method == "mean":
            return outputs.sum(1) / lengths[:, None].to(outputs.dtype)
        scores = self.score(outputs).masked_fill(~mask, float("-inf"))  # (B, T, 1)
        weights = torch.softmax(scores, dim=1)
        return (weights * outputs).sum(1)
