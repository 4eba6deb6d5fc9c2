"""Text from a language model, one token at a time: sampling settings, drawing the next token, the generation loop.

NumPy only, so the same code drives a torch network and an onnxruntime session: both are wrapped as a ``step``
function, ``step(ids [1, t] int64, state) -> (logits [1, t, V], state)``.

Drawing the next token from the scores ``logits`` ``[V]``::

    allowed = every id not in ``exclude`` (``<pad>``, ``<unk>``)
    allowed = the ``top_k`` highest-scoring allowed ids                  (top-k; top_k = 1 is argmax)
    p       = softmax(logits / temperature) over the allowed ids          (< 1 sharper, > 1 flatter)
    allowed = the fewest most-probable ids whose p adds up to top_p      (nucleus, Holtzman et al. 2020)
    token   ~ p renormalised over the allowed ids
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from rnnkit.data.corpus import EOL
from rnnkit.errors import RnnkitError
from rnnkit.text import PAD_ID, UNK_ID

Step = Callable[[np.ndarray, Any], tuple[np.ndarray, Any]]
LINE_BREAKS = (EOL, "\n")  # how a word corpus and a character corpus end their lines
# Prompt tokens read per call. A call gives the scores after every token it reads, [1, t, V]: a 120 KB prompt to a
# word model of 13,500 words, read whole, held 30,000 x 13,500 of them and took 3.6 GB. In pieces, with the state
# carried, only the last piece's are held: the same state, the same scores after the last token.
PROMPT_PIECE = 256


def check_sampling(temperature: float, top_k: int | None, top_p: float | None, length: int) -> None:
    """Refuse settings that cannot be sampled with, in one line that names the command line's option."""
    if not isinstance(temperature, int | float) or isinstance(temperature, bool) or not temperature > 0:
        greedy = "; for always the most likely token, use --top-k 1" if temperature == 0 else ""
        raise RnnkitError(f"--temperature must be greater than 0, got {temperature}{greedy}")
    if not math.isfinite(temperature):
        raise RnnkitError(f"--temperature must be a finite number, got {temperature}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise RnnkitError(f"--top-k must be at least 1, got {top_k}")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, int | float) or not 0 < top_p <= 1):
        raise RnnkitError(f"--top-p must be in (0, 1], got {top_p}")
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise RnnkitError(f"--length must be at least 1, got {length}")


def next_token(
    logits: np.ndarray,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    exclude: Sequence[int] = (),
) -> int:
    """Draw the next token's id from its scores ``logits`` ``[V]`` (see the module's docstring for the order).

    Never returns an id in ``exclude`` or outside the top-k / nucleus set; ``top_k=1`` is exactly the argmax of
    the allowed scores (the lowest id among equal maxima) and draws nothing from ``rng``.
    """
    scores = np.array(logits, dtype=np.float64)  # a copy: (V,)
    if scores.ndim != 1:
        raise ValueError(f"logits must be one vector [V], got shape {scores.shape}")
    if np.isnan(scores).any():
        raise ValueError("logits hold NaN; the network's output is broken")
    scores[list(exclude)] = -np.inf
    if not np.isfinite(scores.max()):
        raise ValueError("no token may be drawn: every one is excluded")
    if top_k == 1:
        return int(np.argmax(scores))
    if top_k is not None and top_k < len(scores):
        cut = np.partition(scores, -top_k)[-top_k]  # the k-th highest score
        below = scores < cut
        ties = np.flatnonzero(scores == cut)
        keep_ties = top_k - int((scores > cut).sum())  # equal scores at the cut: the lowest ids, so exactly k
        scores[ties[keep_ties:]] = -np.inf
        scores[below] = -np.inf
    scaled = (scores - scores.max()) / temperature
    probabilities = np.exp(scaled)  # (V,): zero for every id not allowed
    probabilities /= probabilities.sum()
    if top_p is not None and top_p < 1:
        order = np.argsort(-probabilities, kind="stable")
        before = np.cumsum(probabilities[order]) - probabilities[order]  # the mass of the ids ranked above each
        probabilities[order[before >= top_p]] = 0.0  # keeps the first always, and stops once top_p is reached
    allowed = np.flatnonzero(probabilities > 0)
    cumulative = np.cumsum(probabilities[allowed])
    index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return int(allowed[min(index, len(allowed) - 1)])


def start_token_id(tokens: Sequence[str]) -> int:
    """The token an empty prompt starts from, given the vocabulary's ``tokens`` (ids are positions): a line break
    (``<eol>`` in a word model, ``"\\n"`` in a character model), so that the text begins as a line does; else the
    most frequent token (id 2: a vocabulary lists tokens by frequency); else ``<unk>``."""
    for token in LINE_BREAKS:
        if token in tokens:
            return list(tokens).index(token)
    return 2 if len(tokens) > 2 else UNK_ID


def generate(
    step: Step,
    state: Any,
    prompt_ids: Sequence[int],
    length: int,
    rng: np.random.Generator,
    *,
    start_id: int | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    exclude: Sequence[int] = (PAD_ID, UNK_ID),
) -> Iterator[int]:
    """Yield ``length`` new token ids, each as soon as it is drawn, continuing ``prompt_ids`` from ``state``.

    The prompt is read once, in calls ``step(piece [1, t], state)`` of at most ``PROMPT_PIECE`` tokens, the state
    carried from each to the next (a short prompt is one call); the first new token is drawn from the scores after
    its last token. Each drawn token is then fed back alone, ``step([[token]], state)``, carrying the state: the
    prompt's calls and ``length - 1`` more, a cost linear in both. An empty prompt starts from ``state`` with
    ``start_id`` fed first (:func:`start_token_id`: a line break), which is not yielded; an empty prompt without
    ``start_id`` is refused. The same ``rng`` seed gives the same tokens.

    Settings are checked (:func:`check_sampling`) when this is called, before anything runs.
    """
    check_sampling(temperature, top_k, top_p, length)
    prompt = [int(i) for i in prompt_ids]
    if not prompt:
        if start_id is None:
            raise ValueError("an empty prompt needs start_id, the token to start from (see start_token_id)")
        prompt = [int(start_id)]

    def tokens() -> Iterator[int]:
        current = state
        for begin in range(0, len(prompt), PROMPT_PIECE):  # the prompt, once, a piece at a time
            piece = np.array([prompt[begin : begin + PROMPT_PIECE]], dtype=np.int64)
            logits, current = step(piece, current)  # (1, t, V)
        for i in range(length):
            token = next_token(logits[0, -1], rng, temperature, top_k, top_p, exclude)
            yield token
            if i < length - 1:
                logits, current = step(np.array([[token]], dtype=np.int64), current)  # (1, 1, V)

    return tokens()
