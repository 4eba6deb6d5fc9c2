"""See inside a trained network: the lesson's state as flags that words switch on and off, for any rnnkit model.

``model.inspect(text)`` (and ``rnnkit inspect MODEL TEXT``) reads one text token by token and returns an
:class:`Inspection`: what the network predicts as it reads, its hidden state (and an LSTM's cell state) at every
token, its gates computed by the cell formulas (:meth:`rnnkit.nn.Recurrent.trace`), and, for a classifier, which
tokens mattered (:mod:`rnnkit.inspection.attribution`). ``model.find_units(texts)`` (``rnnkit inspect MODEL
--units FILE``) finds the units that track a property of the text (:mod:`rnnkit.inspection.units`).

An inspection is one plain dict, saved as JSON for other tools and drawn from it as a page and a figure::

    format: "rnnkit-inspection", version: 1
    text, tokens [T], unknown [T] (read as <unk>), truncated (tokens past max_length, not read)
    model: {task, kind ("rnn" | "bag"), cell, bidirectional, layers, hidden_size, member, members}
    labels: the classes or tags (null for a language model)
    prediction:
        classify: {label, probabilities [C], by_prefix [T][C] (after each token), method ("state" | "prefix")}
        tag:      {tags [T], probabilities [T][K]}  (with a CRF, the exact marginals)
        lm:       {next [T] of {token, probability, top [[token, p]...]} (what follows each token), perplexity}
    stateful: false for the bag of embeddings (then layers is [] and note says why)
    layers [L]: {layer, directions, hidden [T][U], cell [T][U] (LSTM), gates {name: [T][U]}, order [U],
                 changes [T] of [[unit, change]...]}   U = directions x hidden_size, forward units first
    gates: the top layer's sigmoid gates, {input, forget, output} (LSTM) or {reset, update} (GRU), [T][U] each
    attributions (classify): {target, occlusion {unk [T], removed [T]},
                              integrated_gradients {values [T], baseline, steps, delta} or null, note}
    members: for an ensemble, one such reading per member (prediction, layers, gates, attributions), beside the
             ensemble's own prediction

A units report is ``format: "rnnkit-units"``: ``model``, ``texts``, ``tokens``, and ``properties``, each
``{name, layer, state ("hidden" | "cell"), unit, correlation, passage {tokens, activation}}``, with ``absent``
naming the properties that never change in the texts read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rnnkit.inspection.report import FORMATS, Inspection, UnitsReport
from rnnkit.inspection.units import MAX_TOKENS

__all__ = ["FORMATS", "Inspectable", "Inspection", "UnitsReport", "find_units", "inspect"]


def inspect(model: Any, text: str | Sequence[str], member: int | None = None, attributions: bool = True) -> Inspection:
    """How the trained ``model`` (a pipeline from :func:`rnnkit.load` or :func:`rnnkit.train`) reads ``text``;
    ``member`` (from 1) picks one network of an ensemble, else each is inspected. A tagger also takes a list of
    tokens. ``attributions=False`` leaves out a classifier's attributions, the slow part (many texts' states)."""
    from rnnkit import tasks
    from rnnkit.errors import RnnkitError

    if not hasattr(model, "model"):
        raise RnnkitError(
            f"inspect needs the torch network: load the model directory with rnnkit.load, not an exported file "
            f"({type(model).__name__})"
        )
    return Inspection(tasks.get(model.task).inspect(model, text, member, attributions))


def find_units(
    model: Any, texts: str | Iterable[str], member: int | None = None, max_tokens: int = MAX_TOKENS
) -> UnitsReport:
    """The units of ``model`` that best track each property over ``texts`` (a string is one text, read as
    running text by a language model), reading at most ``max_tokens`` tokens."""
    from rnnkit.inspection.units import find_units as find

    return UnitsReport(find(model, [texts] if isinstance(texts, str) else texts, member, max_tokens))


class Inspectable:
    """The inspection verbs of a trained torch pipeline (classifier, language model, tagger)."""

    def inspect(self, text: str | Sequence[str], member: int | None = None, attributions: bool = True) -> Inspection:
        """How the network reads ``text``, token by token: see :func:`rnnkit.inspection.inspect`."""
        return inspect(self, text, member, attributions)

    def find_units(
        self, texts: str | Iterable[str], member: int | None = None, max_tokens: int = MAX_TOKENS
    ) -> UnitsReport:
        """The units that track a property of ``texts``: see :func:`rnnkit.inspection.find_units`."""
        return find_units(self, texts, member, max_tokens)
