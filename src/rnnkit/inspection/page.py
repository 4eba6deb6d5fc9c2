"""An inspection of a network on one text (and a units report) as one self-contained HTML page.

The page is a pure function of the inspection's JSON-able dict, so it can be written next to the JSON, served, or
mailed: its CSS is inline, it has no script, and it fetches nothing (no font, script or image from anywhere). Every
piece of text from the data is escaped, because the tokens come from whoever typed the text. Wide tables sit in
``.scroll`` boxes, so a long text scrolls sideways on a phone instead of breaking the page.

One colour scale everywhere (the PNG figure of :mod:`rnnkit.inspection.figure` uses the same ends)::

    signed values (states, attributions, a unit's activation):  blue < 0, white at 0, red > 0, strength |v| / scale
    values in [0, 1] (probabilities, gates):                      white at 0 to green at 1
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from rnnkit import tasks
from rnnkit.data.corpus import EOL

NEGATIVE = (33, 102, 172)  # the blue and red ends of ColorBrewer's RdBu, readable by the colour-blind
POSITIVE = (178, 24, 43)
LEVEL = (35, 139, 69)  # probabilities and gates: ColorBrewer's Greens
MAX_UNITS = 64  # units per heatmap: a 1024-unit layer would be a page of colour no one reads; the JSON has all
MAX_COLUMNS = 400  # tokens per heatmap, for the same reason
LINE_BREAKS = ("\n", EOL)  # a character model's line break and a word corpus's end of line
_STEPS = 8  # heatmap cells take one of 2 * 8 + 1 colours, as CSS classes: a 200-token page stays a few MB
VISIBLE = {" ": "\u2423", "\n": "\u21b5", "\t": "\u21e5", "": "\u2205"}  # whitespace shown in labels

_CSS = """
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;background:#fff}
main{max-width:64rem;margin:0 auto;padding:.75rem}
h1{font-size:1.4rem;margin:.2rem 0} h2{font-size:1.2rem;border-bottom:1px solid #ddd;margin-top:1.6rem}
h3{font-size:1rem;margin:1rem 0 .3rem} summary{cursor:pointer;font-weight:600;margin:.6rem 0 .3rem}
.muted{color:#666;font-size:.9rem} .text{white-space:pre-wrap;overflow-wrap:anywhere;background:#f5f5f5;
padding:.5rem .7rem;border-radius:4px} .note{background:#fff6dc;border-left:4px solid #e0a800;padding:.4rem .7rem}
.scroll{overflow-x:auto;max-width:100%} table{border-collapse:collapse;font-size:.85rem}
td,th{padding:.15rem .4rem;text-align:left;vertical-align:top} td.n{text-align:right;font-variant-numeric:tabular-nums}
.list th,.list td{border-bottom:1px solid #eee}
.ctext{white-space:pre-wrap;overflow-wrap:anywhere;line-height:2}
.tok{padding:.15em .1em;border-radius:3px}
.bar{display:inline-block;width:12rem;max-width:40vw;height:.8rem;background:#eee;vertical-align:middle}
.bar span{display:block;height:100%;background:@level}
.tagged{display:inline-block;text-align:center;margin:.1rem;padding:.1rem .3rem;border-radius:3px;line-height:1.3}
.tagged small{display:block;font-size:.7rem}
.legend{display:inline-block;width:8rem;height:.8rem;vertical-align:middle;border:1px solid #ccc;
background:linear-gradient(to right,@negative,#fff,@positive)}
.heat td{width:.8rem;min-width:.8rem;height:.8rem;padding:0}
.heat thead th{font-weight:normal;font-size:.7rem;padding:.1rem 0;vertical-align:bottom}
.heat thead div{writing-mode:vertical-rl;max-height:6rem;overflow:hidden;white-space:nowrap;margin:auto}
.heat tbody th{font-weight:normal;font-size:.7rem;padding:0 .3rem}
.steps td{text-align:right;font-size:.75rem}
"""


def _rgb(value: float | None, scale: float, signed: bool = True) -> tuple[int, int, int]:
    """The colour of ``value``: white at 0 (and for a missing value), the full colour at ``scale`` (``-scale`` for
    blue when ``signed``); in between, mixed linearly with white so strength reads as depth of colour."""
    if value is None or not math.isfinite(value) or not scale > 0:
        return (255, 255, 255)
    t = max(-1.0, min(1.0, value / scale)) if signed else max(0.0, min(1.0, value / scale))
    end = (POSITIVE if t >= 0 else NEGATIVE) if signed else LEVEL
    return tuple(round(255 + (c - 255) * abs(t)) for c in end)  # type: ignore[return-value]


def _colour(value: float | None, scale: float, signed: bool = True) -> str:
    """``_rgb`` as a CSS colour."""
    return "#{:02x}{:02x}{:02x}".format(*_rgb(value, scale, signed))


def style(value: float | None, scale: float, signed: bool = True) -> str:
    """A background by ``value``, with white letters where the colour is too deep for black ones."""
    strong = value is not None and math.isfinite(value) and scale > 0 and abs(value) / scale > 0.6
    return f"background:{_colour(value, scale, signed)}" + (";color:#fff" if strong else "")


def scale_of(values: Any) -> float:
    """The largest absolute value in a (nested) list, 1 when there is none: the end of a colour scale."""

    def largest(v: Any) -> float:
        if isinstance(v, list):
            return max(map(largest, v), default=0.0)
        return abs(v) if v is not None and math.isfinite(v) else 0.0

    return largest(values) or 1.0


def esc(text: Any) -> str:
    """Text from the data, escaped for HTML; ``://`` is written as a character reference so that a URL in the
    text reads the same but the page holds no ``http://`` (it fetches nothing, and a check can say so)."""
    return escape(str(text)).replace("://", "&#58;//")


def label(token: str) -> str:
    """A token for a table cell or a title: whitespace made visible."""
    return esc(VISIBLE.get(token, token))


def num(value: float | None, digits: int = 3) -> str:
    return "\u2013" if value is None else f"{value:.{digits}g}"


def pct(value: float | None) -> str:
    return "\u2013" if value is None else f"{100 * value:.1f}%"


def model_summary(model: dict) -> str:
    """One line for the model, as plain (unescaped) text: "classifier: bidirectional LSTM, 2 layers of 128 units"."""
    known = tasks.get_or_none(str(model.get("task")))
    task = known.noun if known is not None else str(model.get("task"))
    if model.get("kind") == "bag":
        line = f"{task}: a bag of embeddings"
    else:
        layers = model.get("layers", 1)
        line = (
            f"{task}: {'bidirectional ' if model.get('bidirectional') else ''}{str(model.get('cell')).upper()}, "
            f"{layers} layer{'s' if layers != 1 else ''} of {model.get('hidden_size')} units"
            + (" per direction" if model.get("bidirectional") else "")
        )
    members = model.get("members") or 1
    if model.get("member") is not None and members > 1:
        line += f"; member {model['member']} of {members}"
    elif members > 1:
        line += f"; {members} members"
    return line


def unit_name(unit: int, hidden_size: int, directions: int) -> str:
    """A unit's name: its index, or for a bidirectional layer its direction and its index within it ("←3")."""
    if directions < 2 or not hidden_size:
        return str(unit)
    return f"\u2192{unit}" if unit < hidden_size else f"\u2190{unit - hidden_size}"


def _separator(tokens: list[str], text: str | None = None) -> str:
    """What goes between tokens drawn as text: nothing for characters (the text is the tokens joined, or the
    tokens include whitespace), a space for words."""
    if text is not None and tokens and text.startswith("".join(tokens)):
        return ""
    return "" if any(t.isspace() for t in tokens) else " "


def coloured_text(
    tokens: list[str],
    values: list[float | None],
    scale: float,
    signed: bool = True,
    titles: list[str] | None = None,
    text: str | None = None,
) -> str:
    """Tokens as running text, each on a background by its value; line breaks break the line."""
    separator = _separator(tokens, text)
    parts = []
    for i, token in enumerate(tokens):
        value = values[i] if i < len(values) else None
        title = titles[i] if titles else ("" if value is None else f"{VISIBLE.get(token, token)}: {value:+.3f}")
        shown = VISIBLE["\n"] if token == "\n" else token or VISIBLE[""]
        span = f'<span class="tok" style="{style(value, scale, signed)}" title="{esc(title)}">{esc(shown)}</span>'
        parts.append(span + "<br>" if token in LINE_BREAKS else span)
        if i + 1 < len(tokens) and token not in LINE_BREAKS:
            parts.append(separator)
    return f'<p class="ctext">{"".join(parts)}</p>'


def _page(title: str, body: str) -> str:
    css = (
        _CSS.replace("@level", _colour(1, 1, False))
        .replace("@negative", _colour(-1, 1))
        .replace("@positive", _colour(1, 1))
    )
    css += _heat_css() + "\n"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _header(data: dict) -> str:
    tokens = data.get("tokens") or []
    text = data.get("text", "")
    lines = [
        "<header>",
        "<h1>rnnkit inspect</h1>",
        f'<p class="muted">{esc(model_summary(data.get("model", {})))}</p>',
        f'<p class="text">{esc(text)}</p>',
        f'<p class="muted">{len(tokens)} token{"s" if len(tokens) != 1 else ""}</p>',
    ]
    if data.get("truncated"):
        lines.append(f'<p class="note">{data["truncated"]} tokens beyond the model\'s max_length were not read.</p>')
    unknown = [t for t, unk in zip(tokens, data.get("unknown") or [], strict=False) if unk]
    if unknown:
        lines.append(
            f'<p class="muted">Read as &lt;unk&gt; (not in the vocabulary): {", ".join(map(label, unknown))}</p>'
        )
    lines.append("</header>")
    return "\n".join(lines)


def _prediction(data: dict) -> str:
    """The prediction's section, as the task draws it (its ``drawing.page``)."""
    prediction = data.get("prediction")
    if not prediction:
        return ""
    drawn = drawing(data).page(data, prediction)
    return f'<section id="prediction">\n<h2>Prediction</h2>\n{drawn}\n</section>'


# Attributions and states ------------------------------------------------------------------------------------------


def _attributions(data: dict) -> str:
    attributions = data.get("attributions")
    if not attributions:
        return ""
    tokens, text = data.get("tokens") or [], data.get("text")
    occlusion = attributions.get("occlusion") or {}
    rows = [
        ("Occlusion: the token replaced by &lt;unk&gt;", occlusion.get("unk"), ""),
        ("Occlusion: the token removed", occlusion.get("removed"), ""),
    ]
    gradients = attributions.get("integrated_gradients")
    if gradients:
        rows.append(
            (
                "Integrated gradients",
                gradients.get("values"),
                f"Baseline {esc(gradients.get('baseline'))}, {gradients.get('steps')} steps; completeness delta "
                f"<b>{num(gradients.get('delta'))}</b> (the attributions' sum minus the change in the output from the "
                "baseline: near 0 when the steps were enough).",
            )
        )
    out = [
        '<section id="attributions">\n<h2>Attributions</h2>',
        f"<p>How much each token moves the probability of <b>{esc(attributions.get('target'))}</b>: "
        '<span class="legend"></span> red tokens raise it (taking one away lowers the probability), blue tokens '
        "lower it. Each row is scaled to its own strongest score; hover a token for its score.</p>",
    ]
    for title, values, after in rows:
        if values is None:
            continue
        scale = scale_of(values)
        out.append(f'<h3>{title} <span class="muted">(strongest \u00b1{num(scale)})</span></h3>')
        out.append(coloured_text(tokens, values, scale, text=text))
        if after:
            out.append(f'<p class="muted">{after}</p>')
    if attributions.get("note"):
        out.append(f'<p class="note">{esc(attributions["note"])}</p>')
    out.append("</section>")
    return "\n".join(out)


def _heatmap(
    values: list[list[float]],
    order: list[int],
    tokens: list[str],
    hidden_size: int,
    directions: int,
    signed: bool = True,
) -> str:
    """Units (rows, in ``order``) by tokens (columns) as a table of coloured cells, at most MAX_UNITS by MAX_COLUMNS.

    Colours are CSS classes of ``2 * _STEPS + 1`` levels rather than a style per cell: the same picture at a fifth
    of the size. Signed maps are scaled to their largest absolute value, [0, 1] maps (gates) to 1."""
    units = len(values[0]) if values else 0
    shown_units = (order or list(range(units)))[:MAX_UNITS]
    columns = values[:MAX_COLUMNS]
    scale = scale_of(values) if signed else 1.0
    prefix = "d" if signed else "g"
    head = "".join(f'<th title="{label(t)}"><div>{label(t)}</div></th>' for t in tokens[: len(columns)])
    body = []
    for unit in shown_units:
        cells = "".join(
            f'<td class="{prefix}{round(_STEPS * max(-1.0, min(1.0, (row[unit] or 0.0) / scale)))}"></td>'
            for row in columns
        )
        body.append(f"<tr><th>{unit_name(unit, hidden_size, directions)}</th>{cells}</tr>")
    notes = [f"colour scale \u00b1{num(scale)}" if signed else "colour scale 0 to 1"]
    if units > len(shown_units):
        notes.append(
            f"the first {len(shown_units)} of {units} units in order of variance; {units - len(shown_units)} "
            "more are hidden (the JSON has all)"
        )
    if len(values) > len(columns):
        notes.append(f"the first {len(columns)} of {len(values)} tokens")
    return (
        f'<p class="muted">{"; ".join(notes)}</p>\n<div class="scroll"><table class="heat"><thead><tr><th></th>{head}'
        f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _heat_css() -> str:
    """The heatmaps' colour classes: d-8..d8 (signed), g0..g8 (gates)."""
    signed = "".join(f".d{k}{{background:{_colour(k, _STEPS)}}}" for k in range(-_STEPS, _STEPS + 1))
    level = "".join(f".g{k}{{background:{_colour(k, _STEPS, False)}}}" for k in range(_STEPS + 1))
    return signed + "\n" + level


def _states(data: dict) -> str:
    """Hidden state, cell state and gates per layer, and the units that changed most at each token."""
    layers = data.get("layers") or []
    if not layers:
        return ""
    tokens = data.get("tokens") or []
    hidden_size = data.get("model", {}).get("hidden_size") or 0
    top = len(layers) - 1
    sections: dict[str, list[str]] = {"hidden": [], "cell": [], "gates": []}
    for i, layer in enumerate(layers):
        name = f"layer {layer.get('layer', i)}" + (" (top)" if i == top and top > 0 else "")
        directions, order = layer.get("directions", 1), layer.get("order") or []
        is_open = " open" if i == top else ""
        for key in ("hidden", "cell"):
            if layer.get(key):
                heat = _heatmap(layer[key], order, tokens, hidden_size, directions)
                sections[key].append(f"<details{is_open}><summary>{name}</summary>\n{heat}\n</details>")
        for gate, values in (layer.get("gates") or {}).items():
            heat = _heatmap(values, order, tokens, hidden_size, directions, signed=False)
            sections["gates"].append(
                f"<details{is_open}><summary>{name}: {esc(gate)} gate</summary>\n{heat}\n</details>"
            )
    out = []
    titles = {
        "hidden": ("Hidden state", "Each unit (row) after each token (column): blue negative, red positive."),
        "cell": ("Cell state", "The LSTM's memory cell, unit by token, scaled to its largest absolute value."),
        "gates": ("Gates", "How open each gate is (0 white, 1 deep green), unit by token."),
    }
    for key, parts in sections.items():
        if parts:
            title, intro = titles[key]
            out.append(f'<section id="{key}">\n<h2>{title}</h2>\n<p class="muted">{intro}</p>\n' + "\n".join(parts))
            out.append("</section>")
    out.append(_changes(layers, tokens, hidden_size))
    return "\n".join(out)


def _changes(layers: list[dict], tokens: list[str], hidden_size: int) -> str:
    """A table: for each token, the units of each layer that moved most when it was read."""
    if not any(layer.get("changes") for layer in layers):
        return ""
    head = "".join(f"<th>layer {layer.get('layer', i)}</th>" for i, layer in enumerate(layers))
    rows = []
    for t, token in enumerate(tokens):
        cells = []
        for layer in layers:
            moved = (layer.get("changes") or [])[t] if t < len(layer.get("changes") or []) else []
            directions = layer.get("directions", 1)
            cells.append(
                "<td>"
                + ", ".join(f"{unit_name(u, hidden_size, directions)} {delta:+.2f}" for u, delta in moved)
                + "</td>"
            )
        rows.append(f'<tr><td class="n">{t}</td><th>{label(token)}</th>{"".join(cells)}</tr>')
    return (
        '<section id="changes">\n<h2>Units that changed most at each token</h2>\n'
        '<p class="muted">The units whose hidden state moved most when the token was read, with the change.</p>\n'
        f'<div class="scroll"><table class="list"><thead><tr><th>#</th><th>token</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>\n</section>"
    )


# The pages --------------------------------------------------------------------------------------------------------


def _reading(data: dict) -> list[str]:
    """One network's (or an ensemble's) reading: its note, prediction, attributions and states."""
    note = f'<p class="note">{esc(data["note"])}</p>' if data.get("note") else ""
    parts = [note, _prediction(data), _attributions(data)]
    if data.get("stateful", True) and data.get("layers"):
        parts.append(_states(data))
    return parts


def inspection_html(data: dict) -> str:
    """The inspection of a network on one text as a complete HTML page: the model and the text, the prediction,
    the attributions, and (for a recurrent network) its states and gates token by token.

    ``data`` is the ``rnnkit-inspection`` dict, version 1. A model without state (the bag of embeddings) shows its
    note in place of the states."""
    parts = [_header(data), *_reading(data)]
    shared = {key: data[key] for key in ("text", "tokens", "unknown", "truncated", "labels") if key in data}
    for k, member in enumerate(data.get("members") or []):  # an ensemble: each member's own reading
        number = member.get("model", {}).get("member") or k + 1
        inside = "\n".join(p for p in _reading({**shared, **member}) if p)
        parts.append(
            f"<details{' open' if k == 0 else ''}><summary><h2>member {number}</h2></summary>\n{inside}\n</details>"
        )
    text = data.get("text", "")
    return _page(f"rnnkit inspect: {text[:60]}", "\n".join(p for p in parts if p))


def drawing(data: dict) -> Any:
    """The module that draws the prediction of ``data``'s task (``rnnkit.tasks.<name>.drawing``)."""
    return tasks.get(str(data.get("model", {}).get("task"))).drawing


def state_name(prop: dict) -> str:
    """ " cell state" when a property's unit is read from an LSTM's cell state (the hidden state goes unsaid)."""
    state = prop.get("state")
    return f" {state} state" if state and state != "hidden" else ""


def units_html(data: dict) -> str:
    """A units report as a complete HTML page: for each property, the unit that follows it best, with its
    correlation and a passage coloured by that unit's activation (blue negative, red positive).

    ``data`` is the ``rnnkit-units`` dict, version 1."""
    model = data.get("model", {})
    directions = 2 if model.get("bidirectional") else 1
    parts = [
        "<header>\n<h1>rnnkit units</h1>",
        f'<p class="muted">{esc(model_summary(model))}</p>',
        f"<p>Read {data.get('texts', 0)} texts, {data.get('tokens', 0)} tokens. For each property, the unit whose "
        "activation follows it most closely (its correlation over every token), and a passage coloured by that unit: "
        '<span class="legend"></span> blue negative, red positive.</p>\n</header>',
    ]
    for prop in data.get("properties") or []:
        passage = prop.get("passage") or {}
        activation = passage.get("activation") or []
        unit = unit_name(prop.get("unit", 0), model.get("hidden_size") or 0, directions)
        parts.append(
            f"<section>\n<h2>{esc(prop.get('name'))}</h2>\n"
            f"<p>layer {prop.get('layer')}{esc(state_name(prop))}, unit {unit}: "
            f"correlation <b>{prop.get('correlation', 0.0):+.3f}</b> "
            f'<span class="muted">(colour scale \u00b1{num(scale_of(activation))})</span></p>\n'
            f'<div class="scroll">{coloured_text(passage.get("tokens") or [], activation, scale_of(activation))}</div>'
            "\n</section>"
        )
    if data.get("absent"):
        absent = ", ".join(esc(name) for name in data["absent"])
        parts.append(f'<p class="note">Never changed in the texts read, so no unit can follow them: {absent}.</p>')
    elif not data.get("properties"):
        parts.append('<p class="note">No properties were measured.</p>')
    return _page("rnnkit units", "\n".join(parts))
