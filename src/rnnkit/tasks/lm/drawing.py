"""How an inspection of a language model is drawn: the probability it gave each token, and what it expected instead,
on the page, in the figure and in the terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rnnkit.inspection.figure import plain, token_axis
from rnnkit.inspection.page import VISIBLE, coloured_text, label, num, pct, style
from rnnkit.inspection.text import shown


def page(data: dict, prediction: dict) -> str:
    """Each token on the probability the model gave it before reading it, and what it expected instead."""
    tokens = data.get("tokens") or []
    steps = prediction.get("next") or []
    probabilities: list[float | None] = [None] + [s.get("probability") for s in steps[: len(tokens) - 1]]
    titles = ["the first token: nothing before it to predict it"]
    for step in steps[: len(tokens) - 1]:
        top = ", ".join(f"{VISIBLE.get(t, t)} {pct(q)}" for t, q in step.get("top") or [])
        titles.append(f"p = {pct(step.get('probability'))}; the model expected: {top}")
    rows = "".join(
        f'<tr><td class="n">{t}</td><td>{label(tokens[t])}</td>'
        f"<td>{'' if step.get('token') is None else label(step['token'])}</td>"
        f'<td class="n" style="{style(step.get("probability"), 1.0, False)}">{pct(step.get("probability"))}</td>'
        f"<td>{', '.join(f'{label(w)} {pct(q)}' for w, q in step.get('top') or [])}</td></tr>"
        for t, step in enumerate(steps[: len(tokens)])
    )
    perplexity = prediction.get("perplexity")
    return "\n".join(
        [
            f"<p>Perplexity on this text: <b>{num(perplexity, 4)}</b></p>" if perplexity is not None else "",
            '<p class="muted">Each token on the probability the model gave it before reading it (deeper green: '
            "expected; white: a surprise). Hover for what the model expected instead.</p>",
            coloured_text(tokens, probabilities, 1.0, False, titles, data.get("text")),
            "<h3>What the model expected next</h3>",
            '<div class="scroll"><table class="list"><thead><tr><th>#</th><th>after</th><th>next</th><th>p</th>'
            f"<th>the model's top guesses</th></tr></thead><tbody>{rows}</tbody></table></div>",
        ]
    )


def figure_rows(data: dict) -> int:
    """A bar chart: no row per label."""
    return 0


def figure(ax: Any, data: dict, tokens: list[str], level: Any) -> None:
    """The probability the model gave each token before reading it."""
    import numpy as np

    from rnnkit.inspection.page import LEVEL

    prediction = data["prediction"]
    probabilities = [None] + [step.get("probability") for step in prediction["next"][: len(tokens) - 1]]
    ax.bar(range(len(tokens)), [np.nan if p is None else p for p in probabilities], color=tuple(c / 255 for c in LEVEL))
    ax.set_ylim(0, 1)
    perplexity = prediction.get("perplexity")
    title = "probability the model gave each token" + (
        f" (perplexity on the text {perplexity:.4g})" if perplexity is not None else ""
    )
    ax.set_title(plain(title), fontsize=9, loc="left")
    token_axis(ax, tokens)


def answer(prediction: dict) -> str:
    return f"perplexity {prediction['perplexity']:.2f}" if prediction.get("perplexity") else "one token"


def headline(data: dict) -> list[str]:
    perplexity = data["prediction"].get("perplexity")
    return [f"perplexity of the text: {perplexity:.2f}"] if perplexity else []


def columns(data: dict, attributions: dict | None) -> tuple[list[str], Callable[[int], list[str]]]:
    """The terminal table's columns: the probability of what followed each token, and the likeliest next ones."""
    steps = data["prediction"]["next"]

    def cells(t: int) -> list[str]:
        following = steps[t]
        p = "" if following["probability"] is None else f"{following['probability']:.3f}"
        return [f"{p:>7}", " ".join(shown(w) for w, _ in following["top"][:3])]

    return ["P(next)", "likeliest next"], cells
