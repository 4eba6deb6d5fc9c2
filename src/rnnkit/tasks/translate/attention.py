"""Attention: where the decoder looks in the source at each target step.

The encoder leaves a vector ``m_s`` ``[F]`` per source token (its memory). At each target step the decoder's state
``h_t`` ``[H]`` scores every source position, the scores become weights by a softmax over the source's own tokens,
and the context is the weighted mean of the memory::

    Luong "general" (multiplicative):  score(h_t, m_s) = h_t . W_a m_s                 W_a [H, F]
    Bahdanau (additive):               score(h_t, m_s) = v . tanh(W_q h_t + W_k m_s + b)   W_q [A, H], W_k [A, F], v [A]
    a_t = softmax_s(score(h_t, m_s))   over s < length only: padding gets a weight of exactly 0 (its score is -inf)
    c_t = sum_s a_ts m_s

The part that depends on the memory alone (``W_a m_s``, or ``W_k m_s + b``) is the same at every target step, so
:meth:`keys` computes it once per sentence and the steps read it.

Both scores are written as Luong et al. (2015) and OpenNMT write them, with the current state ``h_t`` as the query;
Bahdanau, Cho & Bengio (2015) scored the previous state and fed the context into the recurrence, which input
feeding (:mod:`rnnkit.tasks.translate.network`) does here for both kinds.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F


class LuongAttention(nn.Module):
    """Multiplicative attention, Luong's "general" score: ``weight`` ``[H, F]``."""

    def __init__(self, query_size: int, memory_size: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(memory_size)
        self.weight = nn.Parameter(torch.empty(query_size, memory_size).uniform_(-bound, bound))

    def keys(self, memory: Tensor) -> Tensor:
        """``W_a m_s`` for every source position: ``[B, S, F]`` -> ``[B, S, H]``."""
        return F.linear(memory, self.weight)

    def scores(self, queries: Tensor, keys: Tensor) -> Tensor:
        """``queries`` ``[B, T, H]``, ``keys`` ``[B, S, H]`` -> ``[B, T, S]``."""
        return torch.bmm(queries, keys.transpose(1, 2))


class BahdanauAttention(nn.Module):
    """Additive attention: ``query`` ``[A, H]``, ``key`` ``[A, F]`` (with its bias ``b``), ``v`` ``[1, A]``; A = H."""

    def __init__(self, query_size: int, memory_size: int) -> None:
        super().__init__()
        self.query = nn.Linear(query_size, query_size, bias=False)
        self.key = nn.Linear(memory_size, query_size)
        self.v = nn.Linear(query_size, 1, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        """``W_k m_s + b``: ``[B, S, F]`` -> ``[B, S, A]``."""
        return self.key(memory)

    def scores(self, queries: Tensor, keys: Tensor) -> Tensor:
        """``queries`` ``[B, T, H]``, ``keys`` ``[B, S, A]`` -> ``[B, T, S]``."""
        hidden = torch.tanh(keys[:, None, :, :] + self.query(queries)[:, :, None, :])  # (B, T, S, A)
        return self.v(hidden).squeeze(3)


def attend(scores: Tensor, mask: Tensor, memory: Tensor) -> tuple[Tensor, Tensor]:
    """The weights ``[B, T, S]`` (exactly 0 where ``mask`` ``[B, S]`` is False) and the contexts ``[B, T, F]``."""
    weights = torch.softmax(scores.masked_fill(~mask[:, None, :], float("-inf")), dim=2)
    return weights, torch.bmm(weights, memory)


ATTENTION_CLASSES = {"luong": LuongAttention, "bahdanau": BahdanauAttention}
