"""Units that mean something: run a network over many texts and find, for each property of the text, the unit
whose activation tracks it best (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and Understanding Recurrent
Networks").

The properties are read from the tokens, never from the network, and each task says which
(:meth:`rnnkit.tasks.Task.unit_readings`): for a language model, whether a token is inside double quotes, its
position in the line and the depth of brackets around it; for a classifier, the class the network predicts for the
text the token is in; for a tagger, the tag it gives the token. Every unit of every layer (the hidden state, and an
LSTM's cell state too) is correlated with each property over all the tokens read (Pearson's r), and the best is
reported with its activation over a passage where the property changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rnnkit import tasks
from rnnkit.errors import RnnkitError
from rnnkit.inspection.reading import summary

FORMAT, VERSION = "rnnkit-units", 1
MAX_TOKENS = 20_000  # tokens read at most: enough for stable correlations, a few seconds on a CPU
PASSAGE = 200  # tokens drawn for each property


@dataclass
class UnitReading:
    """How a task's network reads texts for ``--units``: the ``network`` (an ensemble's ``member``), ``read(text,
    budget)`` yielding the word vectors its layers read ``[T, F]``, the tokens and each token's label for every
    piece of a text, and ``targets(tokens, labels)`` the properties to track, by name, a value per token."""

    network: torch.nn.Module
    read: Callable[[str, int], Iterator[tuple[torch.Tensor, list[str], list[Any]]]]
    targets: Callable[[list[str], list[Any]], dict[str, np.ndarray]]
    member: int | None = None


def label_targets(kind: str) -> Callable[[list[str], list[Any]], dict[str, np.ndarray]]:
    """The properties "KIND: VALUE", one per label met: 1 where a token has it, 0 elsewhere."""

    def targets(tokens: list[str], labels: list[Any]) -> dict[str, np.ndarray]:
        return {f"{kind}: {value}": (np.array(labels) == value).astype(float) for value in dict.fromkeys(labels)}

    return targets


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
    task = tasks.get(pipeline.task)
    pipeline.model.eval()
    reading = task.unit_readings(pipeline, member)
    pieces, labels, tokens = [], [], []  # per text or window: traced layers; per token: its label
    read = count = 0
    for text in texts:
        if read >= max_tokens:
            break
        before = len(pieces)
        for vectors, words, label in reading.read(text, max_tokens - read):
            pieces.append(_trace(reading.network, vectors))
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
    targets = reading.targets(tokens, labels)
    properties = [p for name, t in targets.items() if (p := _best(name, t, activations, names, passages, tokens))]
    absent = [name for name, t in targets.items() if t.std() == 0]
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": summary(pipeline.model_config, task.name, reading.member),
        "texts": count,
        "tokens": len(tokens),
        "properties": properties,
        "absent": absent,  # properties that never change in the texts read, so no unit can track them
    }
