"""The recurrent state, token by token, as a person reads it: units ordered so that structure shows, and the few
units that each token moved most.

:meth:`rnnkit.nn.Recurrent.trace` computes the states and gates by the cell formulas; this module only arranges
them. A unit of a bidirectional layer is numbered as the layer's output numbers it: the forward units first, then
the backward ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CHANGED_UNITS = 3  # units named at each token: the few that moved most


def unit_order(hidden: np.ndarray) -> list[int]:
    """Units ``[T, U]`` ordered by how much they vary over the text (most first), so that the units doing the work
    sit together at the top of a heatmap; ties (a one-token text) fall back on the size of the activation."""
    spread = hidden.var(axis=0) if hidden.shape[0] > 1 else np.abs(hidden[0])
    return [int(u) for u in np.lexsort((np.arange(hidden.shape[1]), -spread))]


def changes(hidden: np.ndarray, directions: int, count: int = CHANGED_UNITS) -> list[list[list[float]]]:
    """For each token, the ``count`` units that reading it moved most, as ``[unit, change]``.

    A forward unit's change at token t is ``h_t - h_{t-1}``; a backward unit reads the text from the end, so its
    change is ``h_t - h_{t+1}``; both start from a zero state.
    """
    steps, units = hidden.shape
    size = units // directions
    padded = np.zeros((steps + 2, units), dtype=hidden.dtype)
    padded[1:-1] = hidden
    delta = np.empty_like(hidden)
    delta[:, :size] = hidden[:, :size] - padded[:-2, :size]
    if directions == 2:
        delta[:, size:] = hidden[:, size:] - padded[2:, size:]
    top = np.argsort(-np.abs(delta), axis=1, kind="stable")[:, :count]
    return [[[int(u), float(delta[t, u])] for u in top[t]] for t in range(steps)]


def layer_views(layers: list[dict[str, Any]], directions: int) -> list[dict[str, Any]]:
    """The traced layers (tensors ``[T, U]``) as JSON-ready views: values, unit order and the units that changed."""
    views = []
    for k, layer in enumerate(layers):
        hidden = layer["hidden"].detach().cpu().numpy()
        view: dict[str, Any] = {"layer": k, "directions": directions, "hidden": rounded(hidden)}
        if "cell" in layer:
            view["cell"] = rounded(layer["cell"].detach().cpu().numpy())
        view["gates"] = {name: rounded(g.detach().cpu().numpy()) for name, g in layer["gates"].items()}
        view["order"] = unit_order(hidden)
        view["changes"] = changes(hidden, directions)
        views.append(view)
    return views


def rounded(values: np.ndarray, digits: int = 5) -> list:
    """An array as nested lists of floats to ``digits`` decimals: JSON of a readable size, exact enough to plot."""
    return np.round(values.astype(np.float64), digits).tolist()
