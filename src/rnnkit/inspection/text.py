"""Inspections as plain text for the terminal: one line per token, the few numbers a person reads first."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rnnkit.inspection.report import Inspection, UnitsReport

SHOWN_TOKENS = 60  # the terminal gets the first tokens; the page and the JSON have all


def _shown(token: str) -> str:
    return repr(token)[1:-1] if token.isspace() or not token.isprintable() else token


def _units(changes: list[list[float]], hidden_size: int, directions: int, count: int = 2) -> str:
    from rnnkit.inspection.page import unit_name

    return ", ".join(f"{unit_name(int(u), hidden_size, directions)} {d:+.2f}" for u, d in changes[:count])


def inspection_summary(inspection: Inspection) -> str:
    """The prediction, then a table: each token, the prediction after it (or its tag, or the probability of
    what follows), what it weighs (classifiers) and the units of the top layer that it moved most."""
    members = inspection.members
    first = members[0].data
    p = inspection.prediction
    model = inspection.data["model"]
    kind = (
        "bag of embeddings"
        if model["kind"] == "bag"
        else (
            f"{'bi' if model['bidirectional'] else ''}{model['cell'].upper()} {model['layers']}x{model['hidden_size']}"
        )
    )
    lines = [f"{kind}" + (f", member {model['member']} of {model['members']}" if model["member"] else "")]
    if len(members) > 1:
        lines[0] += f" x {len(members)} members (the units shown are member 1's; the page and the JSON show each)"
    if "label" in p:
        ranked = sorted(zip(inspection.data["labels"], p["probabilities"], strict=True), key=lambda lp: -lp[1])
        lines.append("prediction: " + ", ".join(f"{label} {q:.3f}" for label, q in ranked[:4]))
    elif "perplexity" in p and p["perplexity"]:
        lines.append(f"perplexity of the text: {p['perplexity']:.2f}")
    if first.get("note"):
        lines.append(first["note"])
    tokens = inspection.tokens[:SHOWN_TOKENS]
    width = max(5, *(len(_shown(t)) for t in tokens))
    changes = first["layers"][-1]["changes"] if first.get("layers") else None
    attributions = inspection.data.get("attributions") or first.get("attributions")
    header = [f"{'token':<{width}}"]
    if "label" in p:
        target = p["label"]
        labels = inspection.data["labels"]
        header.append(f"P({target}) after")
        if attributions:
            header += ["occlusion", "integ. grad." if attributions.get("integrated_gradients") else ""]
    elif "tags" in p:
        header += ["tag", "P(tag)"]
    else:
        header += ["P(next)", "likeliest next"]
    if changes:
        header.append("units moved most (top layer)")
    lines.append("  ".join(h for h in header if h))
    for t, token in enumerate(tokens):
        row = [f"{_shown(token):<{width}}"]
        if "label" in p:
            row.append(f"{p['by_prefix'][t][labels.index(target)]:>{len(header[1])}.3f}")
            if attributions:
                row.append(f"{attributions['occlusion']['unk'][t]:>+9.3f}")
                ig = attributions.get("integrated_gradients")
                if ig:
                    row.append(f"{ig['values'][t]:>+12.3f}")
        elif "tags" in p:
            tag = p["tags"][t]
            row += [f"{tag:<3}", f"{p['probabilities'][t][inspection.data['labels'].index(tag)]:6.3f}"]
        else:
            nxt = p["next"][t]
            shown = "" if nxt["probability"] is None else f"{nxt['probability']:.3f}"
            row += [f"{shown:>7}", " ".join(_shown(w) for w, _ in nxt["top"][:3])]
        if changes:
            row.append(_units(changes[t], model["hidden_size"], first["layers"][-1]["directions"]))
        lines.append("  ".join(row))
    if len(inspection.tokens) > SHOWN_TOKENS:
        lines.append(f"... {len(inspection.tokens) - SHOWN_TOKENS} more tokens: save the page or the JSON for all")
    if attributions and attributions.get("note"):
        lines.append(attributions["note"])
    return "\n".join(lines)


def units_summary(report: UnitsReport) -> str:
    """One line per property: the unit that tracks it best and how well."""
    data = report.data
    lines = [f"read {data['tokens']} tokens of {data['texts']} text(s)"]
    for p in data["properties"]:
        lines.append(f"{p['name']}: layer {p['layer']} {p['state']} unit {p['unit']}, r = {p['correlation']:+.3f}")
    if data.get("absent"):
        lines.append("never changes in these texts: " + ", ".join(data["absent"]))
    return "\n".join(lines)
