"""One text as a trained language model reads it: at each token, the probability of the token that really
follows and the likeliest ones, with the states and gates; and what ``inspect --units`` reads: running text in
windows, with properties read from the tokens (inside quotes, position in the line, bracket depth)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.data.corpus import EOL, corpus_tokens
from rnnkit.errors import RnnkitError
from rnnkit.inspection.reading import base, states, summary
from rnnkit.inspection.units import UnitReading
from rnnkit.text import UNK_ID

TOP_ALTERNATIVES = 5  # the likeliest next tokens shown at each step
WINDOW = 400  # --units reads running text in windows of this many tokens, each from a zero state
OPENING, CLOSING = "([{", ")]}"


@torch.no_grad()
def inspect(pipeline: Any, text: str, top: int = TOP_ALTERNATIVES) -> dict[str, Any]:
    """The reading of ``text`` by a language model: at each token, the probability of the token that really
    follows and the ``top`` likeliest ones, with the states and gates."""
    tokens = corpus_tokens(text, pipeline.tokenizer)
    if not tokens:
        raise RnnkitError("the text has no token to inspect: give a text with at least one character or word")
    network = pipeline.model.eval()
    ids = torch.tensor(pipeline.vocab.encode(tokens), dtype=torch.long)
    logits, _ = network(ids[None])
    p = torch.softmax(logits[0], dim=-1)  # (T, V)
    best = torch.topk(p, min(top, p.shape[1]), dim=-1)
    words = pipeline.vocab.tokens
    following = []
    for t in range(len(tokens)):
        nxt = int(ids[t + 1]) if t + 1 < len(tokens) else None
        following.append(
            {
                "token": tokens[t + 1] if nxt is not None else None,
                "probability": round(float(p[t, nxt]), 6) if nxt is not None else None,
                "top": [
                    [words[int(i)], round(float(q), 6)] for q, i in zip(best.values[t], best.indices[t], strict=True)
                ],
            }
        )
    known = [f["probability"] for f in following if f["probability"] is not None]
    nll = [-math.log(max(q, 1e-12)) for q in known]
    return {
        **base(text, tokens, 0, summary(pipeline.model_config, "lm"), [i == UNK_ID for i in ids.tolist()]),
        "labels": None,
        "prediction": {"next": following, "perplexity": math.exp(sum(nll) / len(nll)) if nll else None},
        **states(network, network.embed(ids[None])[0]),
        "attributions": None,
    }


def text_properties(tokens: list[str]) -> dict[str, np.ndarray]:
    """Per token: inside double quotes (1/0; the quotes themselves count as inside), position in the line
    (tokens since the last line break), bracket depth (never below 0)."""
    inside, position, depth = np.zeros(len(tokens)), np.zeros(len(tokens)), np.zeros(len(tokens))
    quoted, column, level = False, 0, 0
    for t, token in enumerate(tokens):
        if token == '"' and not quoted:
            quoted = True
        inside[t] = quoted
        if token == '"' and quoted and t and inside[t - 1]:
            quoted = False
        if token in OPENING:
            level += 1
        depth[t] = level
        if token in CLOSING:
            level = max(level - 1, 0)
        position[t] = column
        column = 0 if token in ("\n", EOL) else column + 1
    return {"inside quotes": inside, "position in line": position, "bracket depth": depth}


def unit_readings(pipeline: Any, member: int | None) -> UnitReading:
    """What ``--units`` reads of a language model: running text in windows, each from a zero state, with the
    properties of :func:`text_properties`."""
    if member is not None:
        raise RnnkitError("--member applies to an ensemble of classifiers; this model is one network")
    network = pipeline.model

    def read(text: str, budget: int) -> Iterator[tuple[Tensor, list[str], list[Any]]]:
        tokens = corpus_tokens(text, pipeline.tokenizer)[:budget]
        for start in range(0, len(tokens), WINDOW):
            words = tokens[start : start + WINDOW]
            ids = torch.tensor(pipeline.vocab.encode(words), dtype=torch.long)
            with torch.no_grad():
                vectors = network.embed(ids[None])[0]
            yield vectors, words, [None] * len(words)

    return UnitReading(network, read, lambda tokens, labels: text_properties(tokens))
