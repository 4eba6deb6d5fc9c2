"""An inspection of a network on one text (and a units report) as one PNG figure, for an issue, a slide or a paper.

A figure shows what fits on a page: the top layer only, and the first 60 tokens of a long text (80 of a unit's
passage), with a note on the figure saying so; the HTML page (:mod:`rnnkit.inspection.page`) and the JSON hold every
layer and token. The colours are the page's: blue negative, white 0, red positive; white 0 to green 1.

matplotlib is optional and imported only when a figure is drawn. The figure is a ``Figure`` on its own Agg canvas,
never ``pyplot``, so no global backend is switched and two figures can be drawn side by side (a server, a test).
"""

from __future__ import annotations

import textwrap
from functools import partial
from pathlib import Path
from typing import Any

from rnnkit.inspection.page import (
    LEVEL,
    MAX_UNITS,
    NEGATIVE,
    POSITIVE,
    VISIBLE,
    drawing,
    model_summary,
    state_name,
    unit_name,
)
from rnnkit.io import atomic_write_bytes
from rnnkit.plots import new_figure, png

MAX_TOKENS = 60
MAX_PASSAGE = 80
INSTALL = "the PNG figure needs matplotlib: pip install 'rnnkit[plots]'"


def figure_tokens(data: dict, limit: int = MAX_TOKENS) -> tuple[list[str], str | None]:
    """The tokens a figure shows (the first ``limit``) and the note that says so when some are cut, else None."""
    tokens = list(data.get("tokens") or [])
    if len(tokens) <= limit:
        return tokens, None
    return tokens[:limit], f"first {limit} of {len(tokens)} tokens; the HTML page and the JSON have all"


def plain(text: Any) -> str:
    """Text that matplotlib draws as written: a ``$`` would start mathtext, so it is escaped."""
    return str(text).replace("$", r"\$")


def tick(token: str, width: int = 14) -> str:
    """A token as a tick label: whitespace made visible, and a long one cut so it cannot squeeze the panel."""
    token = VISIBLE.get(token, token)
    return plain(token if len(token) <= width else token[: width - 1] + "\u2026")


def _tools() -> tuple[Any, Any, Any]:
    """matplotlib's Figure, its Agg canvas and the two colour maps of the page, or a RuntimeError naming the extra."""
    try:
        from matplotlib.colors import LinearSegmentedColormap
    except ImportError as error:
        raise RuntimeError(INSTALL) from error

    def rgb(colour: tuple[int, int, int]) -> tuple[float, ...]:
        return tuple(c / 255 for c in colour)

    signed = LinearSegmentedColormap.from_list("rnnkit_signed", [rgb(NEGATIVE), (1, 1, 1), rgb(POSITIVE)])
    level = LinearSegmentedColormap.from_list("rnnkit_level", [(1, 1, 1), rgb(LEVEL)])

    return new_figure, signed, level


def _save(fig: Any, path: str | Path) -> Path:
    """Render to bytes first, then write atomically: a reader never sees half a PNG."""
    atomic_write_bytes(path, png(fig))
    return Path(path)


def token_axis(ax: Any, tokens: list[str]) -> None:
    """Tokens as the x axis: characters upright, words turned so that 60 of them fit."""
    upright = all(len(t) <= 1 for t in tokens)
    ax.set_xticks(range(len(tokens)), [tick(t) for t in tokens], rotation=0 if upright else 90, fontsize=7)
    ax.set_xlim(-0.5, len(tokens) - 0.5)


def _heatmap(
    ax: Any,
    values: list[list[float]],
    order: list[int],
    tokens: list[str],
    title: str,
    cmap: Any,
    signed: bool,
    hidden_size: int,
    directions: int,
) -> None:
    """Units (rows, in ``order``, at most MAX_UNITS) by tokens (columns). The colour scale's ends are written in the
    title rather than drawn as a colour bar, so that every panel is as wide and the tokens line up down the figure."""
    import numpy as np

    matrix = np.asarray(values, dtype=float)  # (T_all, U)
    units = (list(order) or list(range(matrix.shape[1])))[:MAX_UNITS]
    shown = np.nan_to_num(matrix[: len(tokens)][:, units].T)  # (units, T)
    scale = float(np.nanmax(np.abs(matrix))) if signed and matrix.size else 1.0
    scale = scale if scale > 0 else 1.0
    ax.imshow(shown, aspect="auto", cmap=cmap, vmin=-scale if signed else 0.0, vmax=scale, interpolation="nearest")
    title += f" (blue -{scale:.3g} to red +{scale:.3g})" if signed else " (white 0 to green 1)"
    if matrix.shape[1] > len(units):
        title += f"; {len(units)} of {matrix.shape[1]} units, by variance"
    ax.set_title(plain(title), fontsize=9, loc="left")
    step = max(1, len(units) // 16)
    ax.set_yticks(
        range(0, len(units), step), [unit_name(u, hidden_size, directions) for u in units[::step]], fontsize=6
    )
    token_axis(ax, tokens)


def _attributions(ax: Any, attributions: dict, tokens: list[str]) -> None:
    """The scores of each method as bars per token, side by side."""
    occlusion = attributions.get("occlusion") or {}
    gradients = attributions.get("integrated_gradients") or {}
    series = [
        ("occlusion, <unk>", occlusion.get("unk"), POSITIVE),
        ("occlusion, removed", occlusion.get("removed"), (230, 140, 60)),
        ("integrated gradients", gradients.get("values"), NEGATIVE),
    ]
    series = [(name, values, colour) for name, values, colour in series if values is not None]
    width = 0.8 / max(1, len(series))
    for k, (name, values, colour) in enumerate(series):
        x = [t - 0.4 + width * (k + 0.5) for t in range(len(tokens))]
        ax.bar(x, [v or 0.0 for v in values[: len(tokens)]], width, label=name, color=tuple(c / 255 for c in colour))
    ax.axhline(0.0, color="#444", linewidth=0.6)
    title = f"attributions to {attributions.get('target')}: how much each token raises its probability"
    if gradients.get("delta") is not None:
        title += f"; integrated gradients' completeness delta {gradients['delta']:.3g}"
    if attributions.get("note"):
        title += f"\n{attributions['note']}"
    ax.set_title(plain(title), fontsize=9, loc="left")
    if series:
        ax.legend(fontsize=7, loc="upper right")
    token_axis(ax, tokens)


def inspection_png(data: dict, path: str | Path) -> Path:
    """The inspection of a network on one text as one PNG at ``path``, written atomically; returns the path.

    Stacked panels: the prediction token by token, the attributions, and for a recurrent network the top layer's
    hidden state, its gates and (LSTM) its cell state. ``data`` is the ``rnnkit-inspection`` dict, version 1."""
    figure, signed, level = _tools()
    tokens, cut = figure_tokens(data)
    layers = (data.get("layers") or []) if data.get("stateful", True) else []
    top = layers[-1] if layers else {}
    hidden_size = data.get("model", {}).get("hidden_size") or 0
    panels: list[tuple[float, Any]] = []
    if data.get("prediction") and tokens:
        drawn = drawing(data)  # the task draws its prediction: a panel of ``rows`` rows
        rows = drawn.figure_rows(data)
        panels.append((max(2.0, 0.22 * rows + 1.4), partial(drawn.figure, data=data, tokens=tokens, level=level)))
    if data.get("attributions") and tokens:
        panels.append((2.6, partial(_attributions, attributions=data["attributions"], tokens=tokens)))
    maps = [("hidden state", top.get("hidden"), signed, True)]
    maps += [(f"{gate} gate", values, level, False) for gate, values in (top.get("gates") or {}).items()]
    maps.append(("cell state", top.get("cell"), signed, True))
    for name, values, cmap, is_signed in maps:
        if values and tokens:
            draw = partial(
                _heatmap,
                values=values,
                order=top.get("order") or [],
                tokens=tokens,
                title=f"top layer ({top.get('layer', len(layers) - 1)}) {name}",
                cmap=cmap,
                signed=is_signed,
                hidden_size=hidden_size,
                directions=top.get("directions", 1),
            )
            panels.append((1.6 + (0.04 if is_signed else 0.025) * min(MAX_UNITS, len(values[0])), draw))
    lines = [model_summary(data.get("model", {})), textwrap.shorten(data.get("text", "").replace("\n", " "), 150)]
    lines += [note for note in (data.get("note"), cut) if note]
    if data.get("truncated"):
        lines.append(f"{data['truncated']} tokens beyond the model's max_length were not read")
    fig = figure(max(8.0, 3.0 + 0.2 * len(tokens)), 0.25 * len(lines) + 0.3 + sum(h for h, _ in panels))
    fig.suptitle(plain("\n".join(lines)), fontsize=9, x=0.01, ha="left")
    if panels:
        axes = fig.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": [h for h, _ in panels]})
        for (_, draw), ax in zip(panels, axes[:, 0], strict=True):
            draw(ax)
    return _save(fig, path)


def units_png(data: dict, path: str | Path) -> Path:
    """A units report as one PNG at ``path``, written atomically; returns the path.

    One row per property: its best unit's activation over the passage as a strip of coloured cells (blue
    negative, red positive), each cell labelled with its character or token. ``data`` is the ``rnnkit-units``
    dict, version 1."""
    import numpy as np

    figure, signed, _ = _tools()
    model = data.get("model", {})
    directions = 2 if model.get("bidirectional") else 1
    properties = data.get("properties") or []
    passages = [figure_tokens(p.get("passage") or {}, MAX_PASSAGE) for p in properties]
    longest = max((len(tokens) for tokens, _ in passages), default=0)
    characters = all(len(t) <= 1 for tokens, _ in passages for t in tokens)
    row = 0.9 if characters else 1.6
    header = f"{model_summary(model)}\nread {data.get('texts', 0)} texts, {data.get('tokens', 0)} tokens"
    fig = figure(max(8.0, 2.0 + 0.16 * longest), 0.8 + row * max(1, len(properties)))
    fig.suptitle(
        plain(header if properties else header + "\nno properties were measured"), fontsize=9, x=0.01, ha="left"
    )
    if not properties:
        return _save(fig, path)
    axes = fig.subplots(len(properties), 1, squeeze=False)[:, 0]
    for ax, prop, (tokens, cut) in zip(axes, properties, passages, strict=True):
        activation = np.nan_to_num(np.asarray((prop.get("passage") or {}).get("activation") or [], dtype=float))
        scale = float(np.abs(activation).max()) if activation.size else 1.0
        scale = scale if scale > 0 else 1.0
        ax.imshow(
            activation[None, : len(tokens)],
            aspect="auto",
            cmap=signed,
            vmin=-scale,
            vmax=scale,
            interpolation="nearest",
        )
        unit = unit_name(prop.get("unit", 0), model.get("hidden_size") or 0, directions)
        title = (
            f"{prop.get('name')}: layer {prop.get('layer')}{state_name(prop)}, unit {unit}, correlation "
            f"{prop.get('correlation', 0.0):+.3f}" + (f" ({cut})" if cut else "")
        )
        ax.set_title(plain(title), fontsize=9, loc="left")
        ax.set_yticks([])
        if characters:
            for x, (token, value) in enumerate(zip(tokens, activation, strict=False)):
                colour = "white" if abs(value) > 0.6 * scale else "black"  # as on the page: deep colours, white letters
                ax.text(x, 0, tick(token), ha="center", va="center", fontsize=8, family="monospace", color=colour)
            ax.set_xticks([])
        else:
            token_axis(ax, tokens)
    return _save(fig, path)
