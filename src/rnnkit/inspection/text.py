"""Inspections as plain text for the terminal: one line per token, the few numbers a person reads first."""

from __future__ import annotations

from typing import Any

SHOWN_TOKENS = 60  # the terminal gets the first tokens; the page and the JSON have all


def shown(token: str) -> str:
    return repr(token)[1:-1] if token.isspace() or not token.isprintable() else token


def _units(changes: list[list[float]], hidden_size: int, directions: int, count: int = 2) -> str:
    from rnnkit.inspection.page import unit_name

    return ", ".join(f"{unit_name(int(u), hidden_size, directions)} {d:+.2f}" for u, d in changes[:count])


def inspection_summary(inspection: Any) -> str:
    """The prediction, then a table: each token, what the network made of it (the task says what: the prediction
    after it, its tag, the probability of what follows), what it weighs (where there are attributions) and the units
    of the top layer that it moved most. ``inspection`` is an :class:`rnnkit.inspection.Inspection`."""
    from rnnkit.inspection.page import drawing

    members = inspection.members
    first = members[0].data
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
    drawn = drawing(inspection.data)
    lines += drawn.headline(inspection.data)
    if first.get("note"):
        lines.append(first["note"])
    tokens = inspection.tokens[:SHOWN_TOKENS]
    width = max(5, *(len(shown(t)) for t in tokens))
    changes = first["layers"][-1]["changes"] if first.get("layers") else None
    attributions = inspection.data.get("attributions") or first.get("attributions")
    header, cells = drawn.columns(inspection.data, attributions)
    header = [f"{'token':<{width}}", *header]
    if changes:
        header.append("units moved most (top layer)")
    lines.append("  ".join(h for h in header if h))
    for t, token in enumerate(tokens):
        row = [f"{shown(token):<{width}}", *cells(t)]
        if changes:
            row.append(_units(changes[t], model["hidden_size"], first["layers"][-1]["directions"]))
        lines.append("  ".join(row))
    if len(inspection.tokens) > SHOWN_TOKENS:
        lines.append(f"... {len(inspection.tokens) - SHOWN_TOKENS} more tokens: save the page or the JSON for all")
    if attributions and attributions.get("note"):
        lines.append(attributions["note"])
    return "\n".join(lines)


def units_summary(report: Any) -> str:
    """One line per property: the unit that tracks it best and how well."""
    data = report.data
    lines = [f"read {data['tokens']} tokens of {data['texts']} text(s)"]
    for p in data["properties"]:
        lines.append(f"{p['name']}: layer {p['layer']} {p['state']} unit {p['unit']}, r = {p['correlation']:+.3f}")
    if data.get("absent"):
        lines.append("never changes in these texts: " + ", ".join(data["absent"]))
    return "\n".join(lines)
