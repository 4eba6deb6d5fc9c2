"""Finding a translation: greedy decoding and beam search, in NumPy, over any network's ``step``.

Both take a ``step`` function, ``step(tokens [N], state, context) -> (log_probs [N, V], state)``: the previous token
of every row, a dict of the rows' decoder state (each array's rows on axis 0: reordered as beams are chosen) and a
dict of what does not change while decoding (the encoder's memory, its keys, the source mask; rows on axis 0:
repeated once per beam). The torch network and the onnxruntime graphs both give such a function, so both decode
with this one search and give the same translations by construction.

Beam search keeps the ``beam`` best prefixes of each sentence by their log-probability; at each step the ``beam``
best one-token extensions of them are kept (ties broken by position, so the same input gives the same output), and
an extension that ends with ``</s>`` leaves the beam as a finished translation, scored by GNMT's length penalty (Wu
et al. 2016)::

    score(Y) = log p(Y | X) / lp(Y),     lp(Y) = ((5 + |Y|) / 6) ** alpha     (|Y| counts </s>)

A sentence is done when no prefix is left, or when it has ``n_best`` finished translations and no prefix can beat
the worst of them: a prefix's log-probability only falls as it grows, so ``log p(prefix) / lp(max length)`` bounds
every translation it can still become. That bound is exact, so with a beam wide enough to hold every prefix the
search finds the best-scoring translation there is (tested against brute force), and with ``beam=1`` it is greedy
decoding. A translation has at most ``max_length`` tokens before ``</s>``, which the step after that forces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Arrays = dict[str, np.ndarray]
Step = Callable[[np.ndarray, Arrays, Arrays], tuple[np.ndarray, Arrays]]
# top(tokens [N], state, context, k) -> (the k best allowed next tokens' log-probabilities [N, k], best first; those
# tokens [N, k]; the log-probability of </s> [N]; the new state)
Top = Callable[[np.ndarray, Arrays, Arrays, int], tuple[np.ndarray, np.ndarray, np.ndarray, Arrays]]


@dataclass
class Hypothesis:
    """A finished translation: its ``tokens`` (without ``</s>``), its ``log_prob`` (with ``</s>``) and its
    ``score``, the log-probability over the length penalty."""

    tokens: list[int]
    score: float
    log_prob: float


def length_penalty(length: int | np.ndarray, alpha: float) -> float | np.ndarray:
    """GNMT's ``((5 + length) / 6) ** alpha``."""
    return ((5.0 + length) / 6.0) ** alpha


def _rows(arrays: Arrays, rows: np.ndarray) -> Arrays:
    return {name: array[rows] for name, array in arrays.items()}


def _masked(log_probs: np.ndarray, banned: Sequence[int], forced: np.ndarray, eos: int) -> np.ndarray:
    """``log_probs`` (as float64, for the sums) with the ``banned`` tokens impossible, and on the ``forced`` rows
    every token but ``</s>``."""
    log_probs = log_probs.astype(np.float64)
    log_probs[:, list(banned)] = -np.inf
    if forced.any():
        end = log_probs[forced, eos]
        log_probs[forced] = -np.inf
        log_probs[forced, eos] = end
    return log_probs


def greedy_search(
    step: Step,
    state: Arrays,
    context: Arrays,
    max_lengths: Sequence[int] | np.ndarray,
    bos: int,
    eos: int,
    banned: Sequence[int] = (),
    alpha: float = 0.0,
) -> list[Hypothesis]:
    """The most likely next token at every step, for each row of ``state``/``context``, until ``</s>``."""
    max_lengths = np.asarray(max_lengths, dtype=np.int64)
    count = len(max_lengths)
    found: list[Hypothesis | None] = [None] * count
    active = np.arange(count)
    tokens = np.full(count, bos, dtype=np.int64)
    history = np.zeros((count, 0), dtype=np.int64)
    totals = np.zeros(count)
    t = 0
    while active.size:
        log_probs, state = step(tokens, state, context)
        log_probs = _masked(log_probs, banned, t >= max_lengths[active], eos)
        tokens = log_probs.argmax(1)  # the first of equal maxima
        totals = totals + log_probs[np.arange(len(tokens)), tokens]
        history = np.concatenate([history, tokens[:, None]], axis=1)
        ended = tokens == eos
        for row in np.flatnonzero(ended):
            score = totals[row] / length_penalty(t + 1, alpha)
            found[active[row]] = Hypothesis(history[row, :-1].tolist(), float(score), float(totals[row]))
        if ended.any():
            going = np.flatnonzero(~ended)
            active, tokens, history, totals = active[going], tokens[going], history[going], totals[going]
            state, context = _rows(state, going), _rows(context, going)
        t += 1
    return found  # type: ignore[return-value]


def top_k(values: np.ndarray, k: int) -> np.ndarray:
    """The indices of the ``k`` largest of each row of ``values`` ``[R, N]``, largest first, ties by lower index."""
    k = min(k, values.shape[1])
    part = np.argpartition(values, values.shape[1] - k, axis=1)[:, values.shape[1] - k :]
    chosen = np.take_along_axis(values, part, axis=1)
    order = np.lexsort((part, -chosen), axis=1)  # by value, then by index
    return np.take_along_axis(part, order, axis=1)


def top_of(step: Step, banned: Sequence[int], eos: int) -> Top:
    """A :data:`Top` function from a ``step`` that gives every token's log-probability: the ``k`` best allowed
    tokens of each row found in NumPy. A runtime that finds them itself (onnxruntime's ``TopK``, ``torch.topk``)
    spares the search from reading ``[N, V]`` scores at every step."""

    def top(tokens: np.ndarray, state: Arrays, context: Arrays, k: int) -> tuple[np.ndarray, ...]:
        log_probs, state = step(tokens, state, context)
        allowed = log_probs.copy()
        allowed[:, list(banned)] = -np.inf
        best = top_k(allowed, k)
        return np.take_along_axis(allowed, best, axis=1), best, log_probs[:, eos], state

    return top


def beam_search(
    step: Step | None,
    state: Arrays,
    context: Arrays,
    max_lengths: Sequence[int] | np.ndarray,
    bos: int,
    eos: int,
    beam: int = 5,
    n_best: int = 1,
    alpha: float = 0.6,
    banned: Sequence[int] = (),
    top: Top | None = None,
) -> list[list[Hypothesis]]:
    """The ``n_best`` best translations of each row of ``state``/``context`` (one row per sentence), best first.

    Each step needs only each prefix's ``beam`` best allowed extensions (the best ``beam`` of all the prefixes'
    extensions are among them), which ``top`` gives (:data:`Top`; from ``step`` by :func:`top_of` if not given),
    and each prefix's ``</s>`` for the prefixes at their maximum length.
    """
    if beam < 1 or not 1 <= n_best <= beam:
        raise ValueError(f"need beam >= 1 and 1 <= n_best <= beam, got beam {beam} and n_best {n_best}")
    top = top or top_of(step, banned, eos)
    max_lengths = np.asarray(max_lengths, dtype=np.int64)
    count, k = len(max_lengths), beam
    finished: list[list[Hypothesis]] = [[] for _ in range(count)]
    active = np.arange(count)  # the sentence of each block of k rows
    state = {name: np.repeat(array, k, axis=0) for name, array in state.items()}
    context = {name: np.repeat(array, k, axis=0) for name, array in context.items()}
    scores = np.full((count, k), -np.inf)
    scores[:, 0] = 0.0  # at first the k rows of a sentence are one prefix: only the first extends
    tokens = np.full(count * k, bos, dtype=np.int64)
    history = np.zeros((count * k, 0), dtype=np.int64)
    t = 0
    while active.size:
        values, best, end, state = top(tokens, state, context, k)  # (A*k, k) each, (A*k,)
        values, best = values.astype(np.float64), best.astype(np.int64)
        forced = np.repeat(t >= max_lengths[active], k)  # at the maximum length only </s> may follow
        if forced.any():
            values[forced], best[forced] = -np.inf, eos
            values[forced, 0] = end[forced]
        width = values.shape[1]
        candidates = (scores[:, :, None] + values.reshape(len(active), k, width)).reshape(len(active), k * width)
        chosen = top_k(candidates, k)  # (A, k)
        values = np.take_along_axis(candidates, chosen, axis=1)
        parents = (np.arange(len(active))[:, None] * k + chosen // width).ravel()
        tokens = np.take_along_axis(best.reshape(len(active), k * width), chosen, axis=1).ravel()
        history = np.concatenate([history[parents], tokens[:, None]], axis=1)
        state = _rows(state, parents)
        ends = (tokens == eos).reshape(len(active), k)
        for block, slot in zip(*np.nonzero(ends & np.isfinite(values)), strict=True):
            raw = float(values[block, slot])
            hypothesis = Hypothesis(history[block * k + slot, :-1].tolist(), raw / length_penalty(t + 1, alpha), raw)
            finished[active[block]].append(hypothesis)
        scores = np.where(ends, -np.inf, values)  # a finished prefix extends no further
        done = ~np.isfinite(scores.max(1))
        for block in np.flatnonzero(~done):
            found = finished[active[block]]
            if len(found) >= n_best:
                worst_kept = sorted((h.score for h in found), reverse=True)[n_best - 1]
                bound = scores[block].max() / length_penalty(max_lengths[active[block]] + 1, alpha)
                done[block] = worst_kept >= bound
        if done.any():
            going = np.flatnonzero(~done)
            rows = (going[:, None] * k + np.arange(k)).ravel()
            active, scores = active[going], scores[going]
            tokens, history = tokens[rows], history[rows]
            state, context = _rows(state, rows), _rows(context, rows)
        t += 1
    return [sorted(found, key=lambda h: -h.score)[:n_best] for found in finished]
