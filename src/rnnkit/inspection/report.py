"""An inspection or a units report as an object: its numbers (JSON), a page (HTML), a figure (PNG), a summary for
the terminal, and :meth:`save` into a directory beside what is already there.

The page and the figure are drawn from the dict alone (:mod:`rnnkit.inspection.page`,
:mod:`rnnkit.inspection.figure`), so that what a person sees and what another tool reads are the same numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit.io import atomic_write_text

FORMATS = ("png", "html", "json")
SHARED = ("format", "version", "text", "tokens", "unknown", "truncated", "labels")  # what members have in common


def free_stem(directory: Path, stem: str, suffixes: Sequence[str]) -> str:
    """``stem``, or ``stem-2``, ``stem-3`` ... : the first whose files (any of ``suffixes``) are not already in
    ``directory``, so that saving adds to a directory and never overwrites a report."""
    candidate, n = stem, 1
    while any(next(directory.glob(f"{glob_escape(candidate)}.*{s}"), None) for s in suffixes):
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def slug(words: Sequence[str], limit: int = 40) -> str:
    """A file name's worth of the first words: letters, digits and dashes."""
    text = "-".join(re.sub(r"[^0-9A-Za-z]+", "", w) for w in words[:8])
    return re.sub(r"-+", "-", text).strip("-")[:limit].strip("-") or "text"


class _Report:
    """What an inspection and a units report share: the dict, JSON, and saving into a directory."""

    prefix = "report"

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_json(self) -> str:
        return json.dumps(self.data, ensure_ascii=False)

    def html(self) -> str:
        raise NotImplementedError

    def _png(self, stem: Path) -> list[Path]:
        raise NotImplementedError

    def _name(self) -> str:
        return self.prefix

    def save(self, directory: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
        """Write the report into ``directory`` (created if missing) in each of ``formats`` (``png``, ``html``,
        ``json``), under a name not yet used there; returns the paths written."""
        unknown = sorted(set(formats) - set(FORMATS))
        if unknown:
            raise ValueError(f"formats must be among {FORMATS}, got {unknown}")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        stem = directory / free_stem(directory, self._name(), list(dict.fromkeys(formats)))
        written = []
        for kind in dict.fromkeys(formats):
            if kind == "png":
                written += self._png(stem)
            else:
                path = stem.with_name(f"{stem.name}.{kind}")
                atomic_write_text(
                    path, self.html() if kind == "html" else json.dumps(self.data, ensure_ascii=False, indent=1)
                )
                written.append(path)
        return written


class Inspection(_Report):
    """One text as a trained network read it, token by token: ``data`` holds every number (the schema is in
    :mod:`rnnkit.inspection`); :meth:`html`, :meth:`save` and :meth:`summary` show it."""

    prefix = "inspect"

    def __repr__(self) -> str:
        return f"Inspection({len(self.tokens)} tokens, {self.data['model']['task']}, {self._answer()})"

    @property
    def tokens(self) -> list[str]:
        return self.data["tokens"]

    @property
    def prediction(self) -> dict[str, Any]:
        return self.data["prediction"]

    @property
    def members(self) -> list[Inspection]:
        """One inspection per network: an ensemble's members, else this one."""
        if "members" not in self.data:
            return [self]
        shared = {k: self.data[k] for k in SHARED if k in self.data}
        return [Inspection({**shared, **member}) for member in self.data["members"]]

    def _name(self) -> str:
        return f"{self.prefix}-{slug(self.tokens)}"

    def _answer(self) -> str:
        from rnnkit.inspection.page import drawing

        return drawing(self.data).answer(self.prediction)

    def html(self) -> str:
        from rnnkit.inspection.page import inspection_html

        return inspection_html(self.data)

    def _png(self, stem: Path) -> list[Path]:
        from rnnkit.inspection.figure import inspection_png

        members = self.members
        if len(members) == 1:
            return [inspection_png(members[0].data, stem.with_name(f"{stem.name}.png"))]
        return [
            inspection_png(m.data, stem.with_name(f"{stem.name}.member{m.data['model']['member']}.png"))
            for m in members
        ]

    def summary(self) -> str:
        """A table for the terminal: each token with what the network made of it."""
        from rnnkit.inspection.text import inspection_summary

        return inspection_summary(self)


class UnitsReport(_Report):
    """The units that best track each property of the texts read (:func:`rnnkit.inspection.find_units`)."""

    prefix = "units"

    def __repr__(self) -> str:
        best = ", ".join(f"{p['name']}: r={p['correlation']:+.2f}" for p in self.data["properties"][:3])
        return f"UnitsReport({self.data['tokens']} tokens, {best})"

    @property
    def properties(self) -> list[dict[str, Any]]:
        return self.data["properties"]

    def html(self) -> str:
        from rnnkit.inspection.page import units_html

        return units_html(self.data)

    def _png(self, stem: Path) -> list[Path]:
        from rnnkit.inspection.figure import units_png

        return [units_png(self.data, stem.with_name(f"{stem.name}.png"))]

    def summary(self) -> str:
        from rnnkit.inspection.text import units_summary

        return units_summary(self)
