"""How an inspection of a translator is drawn: the translation, and the attention of each of its pieces over the
source's, as a table on the page, a heatmap in the figure and the best-attended source pieces in the terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rnnkit.inspection.figure import plain, tick
from rnnkit.inspection.page import esc, label, pct, style
from rnnkit.inspection.text import shown

SHOWN_SOURCES = 3  # the source pieces shown beside each target piece in the terminal


def _attended(prediction: dict) -> list[list[tuple[int, float]]]:
    """For each target piece, the source positions it attended to, most first, with their weights."""
    return [sorted(enumerate(row), key=lambda p: -p[1]) for row in prediction.get("attention") or []]


def page(data: dict, prediction: dict) -> str:
    """The translation, then a table: a row per target piece, a column per source piece, each cell the attention's
    weight (deeper green: looked at more)."""
    source = data.get("tokens") or []
    target = prediction.get("target") or []
    head = "".join(f'<th title="{label(t)}"><div>{label(t)}</div></th>' for t in source)
    rows = []
    for piece, row in zip(target, prediction.get("attention") or [], strict=False):
        cells = "".join(
            f'<td style="{style(w, 1.0, False)}" title="{esc(piece)} -> {esc(s)}: {pct(w)}"></td>'
            for s, w in zip(source, row, strict=False)
        )
        rows.append(f"<tr><th>{label(piece)}</th>{cells}</tr>")
    return "\n".join(
        [
            f'<p>Translation (beam {prediction.get("beam")}): <b>{esc(prediction.get("translation", ""))}</b></p>',
            '<p class="muted">Where the decoder looked as it wrote each piece of the translation (rows) among the '
            "source's pieces (columns): each row's weights sum to 1 (deeper green: looked at more; hover for the "
            "weight). The state heatmaps below are the encoder's, over the source's pieces.</p>",
            f'<div class="scroll"><table class="heat"><thead><tr><th></th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>",
        ]
    )


def figure_rows(data: dict) -> int:
    """A row per target piece."""
    return len(data["prediction"].get("target") or [])


def figure(ax: Any, data: dict, tokens: list[str], level: Any) -> None:
    """The attention as a heatmap: target pieces down, source pieces across."""
    import numpy as np

    prediction = data["prediction"]
    weights = np.asarray(prediction["attention"], dtype=float)[:, : len(tokens)]
    ax.imshow(weights, aspect="auto", cmap=level, vmin=0.0, vmax=1.0, interpolation="nearest")
    target = prediction["target"]
    ax.set_yticks(range(len(target)), [tick(t) for t in target], fontsize=7)
    ax.set_xticks(range(len(tokens)), [tick(t) for t in tokens], rotation=90, fontsize=7)
    ax.set_xlim(-0.5, len(tokens) - 0.5)
    title = f"attention of each piece of the translation over the source: {prediction['translation']}"
    ax.set_title(plain(title), fontsize=9, loc="left")


def answer(prediction: dict) -> str:
    return prediction.get("translation", "")


def headline(data: dict) -> list[str]:
    prediction = data["prediction"]
    lines = [f"translation (beam {prediction.get('beam')}): {prediction.get('translation', '')}"]
    for piece, attended in zip(prediction.get("target") or [], _attended(prediction), strict=False):
        best = ", ".join(f"{shown(data['tokens'][s])} {w:.2f}" for s, w in attended[:SHOWN_SOURCES])
        lines.append(f"  {shown(piece):<14} <- {best}")
    return lines


def columns(data: dict, attributions: dict | None) -> tuple[list[str], Callable[[int], list[str]]]:
    """The terminal table's column: how much attention each source piece got, summed over the translation."""
    import numpy as np

    attention = np.asarray(data["prediction"].get("attention") or [[]], dtype=float)
    received = attention.sum(axis=0) if attention.size else np.zeros(len(data.get("tokens") or []))

    def cells(t: int) -> list[str]:
        return [f"{received[t]:>9.2f}" if t < len(received) else ""]

    return ["attention"], cells
