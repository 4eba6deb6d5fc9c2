"""How an inspection of a tagger is drawn: each token's tag and its probability on the page, in the figure and in
the terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rnnkit.inspection.figure import plain, token_axis
from rnnkit.inspection.page import esc, label, pct, style


def page(data: dict, prediction: dict) -> str:
    """Each token with its tag and that tag's probability; the three likeliest on hover."""
    labels = data.get("labels") or []
    cells = []
    for token, tag, probabilities in zip(
        data.get("tokens") or [], prediction["tags"], prediction["probabilities"], strict=False
    ):
        p = probabilities[labels.index(tag)] if tag in labels else max(probabilities, default=None)
        ranked = sorted(zip(labels, probabilities, strict=False), key=lambda lp: -lp[1])[:3]
        title = ", ".join(f"{label} {pct(q)}" for label, q in ranked)
        cells.append(
            f'<span class="tagged" style="{style(p, 1.0, False)}" title="{esc(title)}">{label(token)}'
            f"<small>{esc(tag)} {pct(p)}</small></span>"
        )
    return (
        '<p class="muted">Each token with its tag and the probability the model gave that tag (deeper green: surer; '
        "hover for the three likeliest tags).</p>\n"
        f'<div class="scroll"><p>{"".join(cells)}</p></div>'
    )


def figure_rows(data: dict) -> int:
    """Rows of the prediction's panel: one per tag."""
    return len(data.get("labels") or [])


def figure(ax: Any, data: dict, tokens: list[str], level: Any) -> None:
    """The probability of each tag at each token, the chosen tag boxed."""
    import numpy as np

    prediction, labels = data["prediction"], data.get("labels") or []
    matrix = np.asarray(prediction["probabilities"][: len(tokens)], dtype=float).T  # (tags, T)
    ax.imshow(matrix, aspect="auto", cmap=level, vmin=0.0, vmax=1.0, interpolation="nearest")
    names = labels or [str(k) for k in range(matrix.shape[0])]
    ax.set_yticks(range(len(names)), [plain(n) for n in names], fontsize=7)
    chosen = [(t, names.index(tag)) for t, tag in enumerate(prediction["tags"][: len(tokens)]) if tag in names]
    ax.scatter(
        [t for t, _ in chosen], [k for _, k in chosen], marker="s", s=40, facecolors="none", edgecolors="black",
        linewidths=0.8,
    )  # fmt: skip
    ax.set_title(plain("probability of each tag at each token (white 0 to green 1); the chosen tag boxed"), fontsize=9,
                 loc="left")  # fmt: skip
    token_axis(ax, tokens)


def answer(prediction: dict) -> str:
    return " ".join(prediction["tags"][:8]) + (" ..." if len(prediction["tags"]) > 8 else "")


def headline(data: dict) -> list[str]:
    return []


def columns(data: dict, attributions: dict | None) -> tuple[list[str], Callable[[int], list[str]]]:
    """The terminal table's columns: each token's tag and its probability."""
    p, labels = data["prediction"], data["labels"]

    def cells(t: int) -> list[str]:
        tag = p["tags"][t]
        return [f"{tag:<3}", f"{p['probabilities'][t][labels.index(tag)]:6.3f}"]

    return ["tag", "P(tag)"], cells
