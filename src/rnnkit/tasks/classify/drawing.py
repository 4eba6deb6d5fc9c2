"""How an inspection of a classifier is drawn: its prediction on the page, in the figure and in the terminal (the
states, gates and attributions are drawn alike for every task, by :mod:`rnnkit.inspection`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rnnkit.inspection.figure import plain, token_axis
from rnnkit.inspection.page import esc, label, pct, style


def page(data: dict, prediction: dict) -> str:
    """The class probabilities, and after each token (read from the state, or each prefix read anew)."""
    labels = data.get("labels") or [str(i) for i in range(len(prediction.get("probabilities", [])))]
    tokens = data.get("tokens") or []
    rows = "".join(
        f'<tr><th>{esc(label)}</th><td><span class="bar"><span style="width:{100 * p:.1f}%"></span></span></td>'
        f'<td class="n">{pct(p)}</td></tr>'
        for label, p in zip(labels, prediction.get("probabilities", []), strict=False)
    )
    out = [
        f"<p>Predicted: <b>{esc(prediction.get('label'))}</b></p>",
        f'<div class="scroll"><table>{rows}</table></div>',
    ]
    by_prefix = prediction.get("by_prefix") or []
    if by_prefix:
        how = (
            "read from the state after each token"
            if prediction.get("method") == "state"
            else "the model run again on each prefix of the text"
        )
        head = "".join(f"<th>{label(t)}</th>" for t in tokens)
        body = "".join(
            f"<tr><th>{esc(label)}</th>"
            + "".join(f'<td style="{style(p[c], 1.0, False)}">{100 * p[c]:.0f}</td>' for p in by_prefix)
            + "</tr>"
            for c, label in enumerate(labels)
        )
        best = "".join(f"<td>{esc(labels[max(range(len(p)), key=p.__getitem__)])}</td>" for p in by_prefix if p)
        out += [
            "<h3>After each token</h3>",
            f'<p class="muted">The probability of each class (%) after reading the text up to and including each '
            f"token ({how}).</p>",
            f'<div class="scroll"><table class="steps"><thead><tr><th></th>{head}</tr></thead>'
            f"<tbody>{body}<tr><th>predicted</th>{best}</tr></tbody></table></div>",
        ]
    return "\n".join(out)


def figure_rows(data: dict) -> int:
    """Rows of the prediction's panel: one per class."""
    return len(data.get("labels") or [])


def figure(ax: Any, data: dict, tokens: list[str], level: Any) -> None:
    """The probability of each class after each token; with only the final prediction, a bar per class."""
    import numpy as np

    from rnnkit.inspection.page import LEVEL

    prediction, labels = data["prediction"], data.get("labels") or []
    if not prediction.get("by_prefix"):  # only the final prediction: one bar per class
        probabilities = prediction.get("probabilities") or []
        names = labels or [str(k) for k in range(len(probabilities))]
        ax.barh([plain(n) for n in names], probabilities, color=tuple(c / 255 for c in LEVEL))
        ax.set_xlim(0, 1)
        ax.set_title(plain(f"predicted {prediction.get('label')}"), fontsize=9, loc="left")
        return
    matrix = np.asarray(prediction["by_prefix"][: len(tokens)], dtype=float).T  # (classes, T)
    ax.imshow(matrix, aspect="auto", cmap=level, vmin=0.0, vmax=1.0, interpolation="nearest")
    names = labels or [str(k) for k in range(matrix.shape[0])]
    ax.set_yticks(range(len(names)), [plain(n) for n in names], fontsize=7)
    p = max(prediction.get("probabilities") or [0.0])
    title = (
        f"probability of each class after each token (white 0 to green 1); predicted {prediction.get('label')} "
        f"({p:.1%})"
    )
    ax.set_title(plain(title), fontsize=9, loc="left")
    token_axis(ax, tokens)


def answer(prediction: dict) -> str:
    return f"{prediction['label']} {max(prediction['probabilities']):.2f}"


def headline(data: dict) -> list[str]:
    """The likeliest classes, as the terminal's summary says them first."""
    p = data["prediction"]
    ranked = sorted(zip(data["labels"], p["probabilities"], strict=True), key=lambda lp: -lp[1])
    return ["prediction: " + ", ".join(f"{name} {q:.3f}" for name, q in ranked[:4])]


def columns(data: dict, attributions: dict | None) -> tuple[list[str], Callable[[int], list[str]]]:
    """The terminal table's columns: the predicted class's probability after each token, and what each token
    weighs (occlusion, integrated gradients)."""
    p, labels = data["prediction"], data["labels"]
    target = labels.index(p["label"])
    header = [f"P({p['label']}) after"]
    if attributions:
        header += ["occlusion", "integ. grad." if attributions.get("integrated_gradients") else ""]

    def cells(t: int) -> list[str]:
        row = [f"{p['by_prefix'][t][target]:>{len(header[0])}.3f}"]
        if attributions:
            row.append(f"{attributions['occlusion']['unk'][t]:>+9.3f}")
            gradients = attributions.get("integrated_gradients")
            if gradients:
                row.append(f"{gradients['values'][t]:>+12.3f}")
        return row

    return header, cells
