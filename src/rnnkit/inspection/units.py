"""Units that mean something: run a network over many texts and find, for each property of the text, the unit
whose activation tracks it best (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and Understanding Recurrent
Networks").

The properties are read from the tokens, never from the network: for a language model, whether a token is inside
double quotes, its position in the line and the depth of brackets around it; for a classifier, the class the
network predicts for the text the token is in; for a tagger, the tag it gives the token. Every unit of every layer
(the hidden state, and an LSTM's cell state too) is correlated with each property over all the tokens read
(Pearson's r), and the best is reported with its activation over a passage where the property changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from rnnkit.data.corpus import EOL, corpus_tokens
from rnnkit.errors import RnnkitError
from rnnkit.inspection.reading import classifier_text, summary, tagger_inputs
from rnnkit.tasks.classify.network import members_of

FORMAT, VERSION = "rnnkit-units", 1
MAX_TOKENS = 20_000  # tokens read at most: enough for stable correlations, a few seconds on a CPU
WINDOW = 400  # a language model reads running text in windows of this many tokens, each from a zero state
PASSAGE = 200  # tokens drawn for each property
OPENING, CLOSING = "([{", ")]}"


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


def correlations(activations: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson's r of each column of ``activations`` ``[N, U]`` with ``target`` ``[N]`` (0 for a constant unit)."""
    a = activations - activations.mean(0)
    b = target - target.mean()
    norms = np.sqrt((a * a).sum(0) * (b * b).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b[:, None]).sum(0) / norms
    return np.nan_to_num(r)


def _units(layers: list[dict[str, Any]]) -> tuple[np.ndarray, list[tuple[int, str, int]]]:
    """All the traced states as columns ``[T, units]`` and what each column is: ``(layer, state, unit)``."""
    columns, names = [], []
    for k, layer in enumerate(layers):
        for state in ("hidden", "cell"):
            if state in layer:
                values = layer[state].numpy()
                columns.append(values)
                names += [(k, state, u) for u in range(values.shape[1])]
    return np.concatenate(columns, axis=1), names


def _best(
    name: str, target: np.ndarray, activations: np.ndarray, names: list, passages: list[tuple[int, int]], tokens: list
) -> dict[str, Any] | None:
    """The unit with the largest |r| for ``target``, and its activation over the first passage where the target
    changes (``passages``: ``(start, stop)`` row ranges, one per text or window)."""
    if target.std() == 0:
        return None
    r = correlations(activations, target)
    best = int(np.argmax(np.abs(r)))
    start, stop = next(((a, b) for a, b in passages if target[a:b].std() > 0), passages[0])
    stop = min(stop, start + PASSAGE)
    layer, state, unit = names[best]
    return {
        "name": name,
        "layer": layer,
        "state": state,
        "unit": unit,
        "correlation": round(float(r[best]), 4),
        "passage": {"tokens": tokens[start:stop], "activation": np.round(activations[start:stop, best], 5).tolist()},
    }


@torch.no_grad()
def _trace(network: torch.nn.Module, vectors: torch.Tensor) -> list[dict[str, Any]]:
    return network.encoder.trace(vectors)


def find_units(pipeline: Any, texts: Iterable[str], member: int | None = None, max_tokens: int = MAX_TOKENS) -> dict:
    """The unit that best tracks each property over ``texts`` (running text for a language model, one text or
    sentence each for a classifier or a tagger), read up to ``max_tokens`` tokens; the schema is in
    :mod:`rnnkit.inspection`."""
    task = getattr(pipeline, "task", "classify")
    network = pipeline.model.eval()
    if task == "classify":
        networks = members_of(pipeline.model)
        member = member or 1
        if not 1 <= member <= len(networks):
            raise RnnkitError(f"--member must be in 1..{len(networks)}: the model has {len(networks)} member(s)")
        network = networks[member - 1]
        if network.config.model == "bag":
            raise RnnkitError("the bag of embeddings has no state: --units needs a recurrent model")
    pieces, labels, tokens = [], [], []  # per text or window: traced layers; per token: its label
    read = count = 0
    for text in texts:
        if read >= max_tokens:
            break
        before = len(pieces)
        for ids, words, label in _readings(pipeline, network, text, max_tokens - read):
            with torch.no_grad():
                vectors = network.embed(ids[None])[0] if task == "lm" else ids
            pieces.append(_trace(network, vectors))
            tokens += words
            labels += label
            read += len(words)
        count += len(pieces) > before
    if not pieces:
        raise RnnkitError("the file has no text to read: give one text per line (or running text for a language model)")
    blocks = [_units(layers) for layers in pieces]
    activations = np.concatenate([b[0] for b in blocks])
    names = blocks[0][1]
    bounds = np.cumsum([0] + [b[0].shape[0] for b in blocks])
    passages = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
    if task == "lm":
        targets = text_properties(tokens)
    else:
        kinds = "class" if task == "classify" else "tag"
        targets = {f"{kinds}: {value}": (np.array(labels) == value).astype(float) for value in dict.fromkeys(labels)}
    properties = [p for name, t in targets.items() if (p := _best(name, t, activations, names, passages, tokens))]
    absent = [name for name, t in targets.items() if t.std() == 0]
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": summary(pipeline.model_config, task, member if task == "classify" else None),
        "texts": count,
        "tokens": len(tokens),
        "properties": properties,
        "absent": absent,  # properties that never change in the texts read, so no unit can track them
    }


def _readings(pipeline: Any, network: torch.nn.Module, text: str, budget: int):
    """``(ids or vectors, tokens, label per token)`` for each piece that ``network`` reads of ``text``: a language
    model's ids, a tagger's or a classifier's word vectors as its layers read them."""
    if getattr(pipeline, "task", "classify") == "lm":
        tokens = corpus_tokens(text, pipeline.tokenizer)[:budget]
        for start in range(0, len(tokens), WINDOW):
            words = tokens[start : start + WINDOW]
            yield torch.tensor(pipeline.vocab.encode(words), dtype=torch.long), words, [None] * len(words)
        return
    if pipeline.task == "tag":
        words = pipeline.tokenize(text)[:budget]
        if words:
            yield tagger_inputs(pipeline, words)[3], words, pipeline.tag([words])[0]
        return
    if not pipeline.tokenizer(text):
        return
    read = classifier_text(pipeline, text, budget)
    with torch.no_grad():
        label = pipeline.labels[
            int(read.probabilities(network)(read.ids[None], torch.tensor([len(read.ids)])).argmax())
        ]
        vectors = read.vectors(network)
    yield vectors, read.tokens, [label] * len(read.tokens)
