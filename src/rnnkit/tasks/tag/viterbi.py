"""Viterbi decoding of a linear-chain CRF in NumPy, for prediction without torch.

An exported tagger's ONNX graph stops at the emissions; onnxruntime computes them and this module finds the
best tag path from them and the CRF's saved ``transitions``, ``start_transitions`` and ``end_transitions``.
It is the same recursion as :meth:`rnnkit.nn.CRF.decode`, one sequence at a time::

    score_1[j] = start[j] + e_1[j]
    score_t[j] = e_t[j] + max_i(score_{t-1}[i] + transitions[i, j])     backpointer_t[j] = the argmax i
    y_n = argmax_j(score_n[j] + end[j]),    then y_{t-1} = backpointer_t[y_t] back to the first token

>>> emissions = np.array([[2.0, 0.0], [1.0, 0.0]])  # alone, each token would take tag 0
>>> transitions = np.array([[-5.0, 0.0], [0.0, 0.0]])  # but tag 0 after tag 0 costs 5
>>> viterbi_decode(emissions, transitions, np.zeros(2), np.zeros(2))
array([0, 1])
"""

from __future__ import annotations

import numpy as np


def viterbi_decode(emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The best tag path, int64 ``[T]``, for ``emissions`` ``[T, K]``; ``transitions[i, j]`` scores j after i.

    ``T`` may be 0 (an empty sentence): the path is empty. Ties go to the lower tag id, as in torch.
    """
    emissions = np.asarray(emissions)
    if emissions.ndim != 2:
        raise ValueError(f"viterbi_decode: emissions must be [T, K], got shape {emissions.shape}")
    steps, tags = emissions.shape
    if np.shape(transitions) != (tags, tags) or np.shape(start) != (tags,) or np.shape(end) != (tags,):
        raise ValueError(
            f"viterbi_decode: with {tags} tags, transitions must be [{tags}, {tags}] and start, end [{tags}], got "
            f"{np.shape(transitions)}, {np.shape(start)} and {np.shape(end)}"
        )
    path = np.zeros(steps, dtype=np.int64)
    if steps == 0:
        return path
    score = start + emissions[0]  # (K,) best score of a path ending in each tag
    backpointers = np.zeros((steps, tags), dtype=np.int64)
    for t in range(1, steps):
        candidates = score[:, None] + transitions  # [i, j]: the best path ending in i, then tag j
        backpointers[t] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + emissions[t]
    path[-1] = np.argmax(score + end)
    for t in range(steps - 1, 0, -1):
        path[t - 1] = backpointers[t, path[t]]
    return path


def viterbi_decode_batch(
    emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray
) -> list[np.ndarray]:
    """The best path of each sequence of a padded batch ``[B, T, K]``, each decoded on its own ``lengths[b]``."""
    emissions, lengths = np.asarray(emissions), np.asarray(lengths)
    if emissions.ndim != 3 or lengths.shape != emissions.shape[:1]:
        raise ValueError(
            f"viterbi_decode_batch: emissions must be [B, T, K] and lengths [B], got {emissions.shape} and "
            f"{lengths.shape}"
        )
    if lengths.size and (lengths.min() < 0 or lengths.max() > emissions.shape[1]):
        raise ValueError(f"viterbi_decode_batch: lengths must lie in 0..{emissions.shape[1]}, got {lengths.tolist()}")
    return [viterbi_decode(e[: int(n)], transitions, start, end) for e, n in zip(emissions, lengths, strict=True)]
