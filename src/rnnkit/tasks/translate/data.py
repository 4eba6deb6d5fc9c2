"""Sentence pairs: reading them, cutting a validation set that nothing leaks into, and grouping references.

Files come from anyone, so every row is accounted for (a pair, or a blank line skipped and counted) and bad input is
one line naming the file and the line (:class:`rnnkit.errors.DataError`):

* TSV (``.tsv``, ``.txt``, ``.tab``): ``source<TAB>target`` per line, no header, as Tatoeba's and manythings.org's
  exports are; further columns (their attribution) are ignored, and the summary says so once. A line with no tab,
  or with an empty side, is refused.
* CSV and JSONL, with a header (or keys) naming the columns: ``source`` and ``target`` unless told otherwise, read by
  :mod:`rnnkit.data.readers`, which already handles quoting, delimiters and JSON.

A sentence with several translations is normal (Tatoeba has them), so a validation cut keeps together every pair
that shares a sentence on either side (union-find over both sides, as ``make_split.py`` of the Tatoeba split does):
otherwise a source seen in training with one translation would be scored in validation with another.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from rnnkit.data.readers import _find_column, _names, _read_delimited, _read_jsonl, read_text_file
from rnnkit.errors import DataError

PAIR_FORMATS = ("tsv", "csv", "jsonl")
SHOWN_LINES = 5


@dataclass
class Pairs:
    """Source sentences and their translations, read from ``path``; ``lines[i]`` is where pair ``i`` starts.

    ``rows`` counts the file's records (a header excluded); each became a pair or was a blank line skipped
    (``skipped_lines``).
    """

    sources: list[str]
    targets: list[str]
    path: str
    lines: list[int] = field(default_factory=list)
    rows: int = -1
    skipped_lines: list[int] = field(default_factory=list)
    format: str = "tsv"
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.rows < 0:
            self.rows = len(self.sources) + len(self.skipped_lines)
        if not self.lines:
            self.lines = list(range(1, len(self.sources) + 1))

    def __len__(self) -> int:
        return len(self.sources)

    def subset(self, indices: list[int]) -> Pairs:
        """The pairs at ``indices`` (in that order), keeping their lines; nothing is counted as read again."""
        return Pairs(
            [self.sources[i] for i in indices],
            [self.targets[i] for i in indices],
            self.path,
            [self.lines[i] for i in indices],
            rows=len(indices),
            format=self.format,
        )

    def where(self, index: int) -> str:
        """``path line N`` of pair ``index``, for a message."""
        return f"{self.path} line {self.lines[index]}"

    def summary(self) -> str:
        """One line: what was read, what was skipped, and what was ignored."""
        line = f"read {_count(self.rows, 'row')} of {self.path} ({self.format}): {_count(len(self), 'pair')}"
        if self.skipped_lines:
            shown = ", ".join(map(str, self.skipped_lines[:SHOWN_LINES]))
            more = ", …" if len(self.skipped_lines) > SHOWN_LINES else ""
            line += f"; skipped {_count(len(self.skipped_lines), 'blank line')} ({shown}{more})"
        return "; ".join([line, *self.notes])


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def read_pairs(
    path: str | Path,
    *,
    format: str | None = None,
    source_column: str | None = None,
    target_column: str | None = None,
    delimiter: str | None = None,
) -> Pairs:
    """Read sentence pairs from ``path`` (see the module's docstring); ``format`` from the extension if not given
    (``.csv``, ``.jsonl``/``.ndjson``; anything else is read as TSV pairs)."""
    path = Path(path)
    if format is not None and format not in PAIR_FORMATS:
        raise DataError(f"unknown format {format!r} for sentence pairs; choose one of {', '.join(PAIR_FORMATS)}")
    text = read_text_file(path)
    fmt = format or _pair_format(path)
    if fmt == "tsv" and source_column is None and target_column is None:
        pairs = _read_tsv(path, text, delimiter or "\t")
    else:
        pairs = _read_columns(path, text, fmt, source_column or "source", target_column or "target", delimiter)
    if not pairs.sources:
        raise DataError(f"{path}: no sentence pairs in the file (every row is blank)")
    return pairs


def _pair_format(path: Path) -> str:
    """``csv`` or ``jsonl`` by the extension (``.gz`` looked through), else ``tsv``: pairs are tab-separated lines."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(suffixes[-1] if suffixes else "", "tsv")


def _read_tsv(path: Path, text: str, delimiter: str) -> Pairs:
    """Headerless ``source<TAB>target[<TAB>...]`` lines."""
    if "\0" in text:
        raise DataError(f"{path}: a NUL byte; the file is binary, damaged or UTF-16: re-save it as UTF-8")
    pairs = Pairs([], [], str(path), format="tsv")
    extra = 0
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        line = line.removesuffix("\r")
        if not line.strip():
            pairs.skipped_lines.append(number)
            continue
        fields = line.split(delimiter)
        if len(fields) < 2:
            shown = line if len(line) <= 60 else line[:57] + "..."
            raise DataError(
                f"{path} line {number}: no tab between source and target in {shown!r}; each line must be "
                "source<TAB>target"
            )
        source, target = fields[0].strip(), fields[1].strip()
        _check_sides(path, number, source, target)
        extra += len(fields) > 2
        pairs.sources.append(source)
        pairs.targets.append(target)
        pairs.lines.append(number)
    pairs.rows = len(pairs.sources) + len(pairs.skipped_lines)
    if extra:
        pairs.notes.append(
            f"ignored the columns after the second on {_count(extra, 'line')} (such as an attribution); "
            "only source<TAB>target is read"
        )
    return pairs


def _check_sides(path: Path, number: int, source: str, target: str) -> None:
    for side, value in (("source", source), ("target", target)):
        if not value:
            raise DataError(f"{path} line {number}: empty {side} sentence; every pair needs both sides")


def _read_columns(path: Path, text: str, fmt: str, source: str, target: str, delimiter: str | None) -> Pairs:
    """CSV or JSONL records (a TSV with ``source_column``/``target_column`` has a header too)."""
    table = _read_jsonl(path, text) if fmt == "jsonl" else _read_delimited(path, text, fmt, delimiter, False)
    chosen = []
    for name, side in ((source, "source"), (target, "target")):
        found = _find_column(table.columns, name)
        if found is None:
            raise DataError(
                f"{path}: no {side} column {name!r}; columns found: {_names(table.columns)} "
                f"(pass --{side}-column to choose)"
            )
        chosen.append(found)
    pairs = Pairs([], [], str(path), format=fmt, notes=list(table.notes))
    for start, _, values in table.records:
        if not any(v.strip() for v in values.values()):
            pairs.skipped_lines.append(start)
            continue
        pair = [values.get(column, "").strip() for column in chosen]
        _check_sides(path, start, *pair)
        pairs.sources.append(pair[0])
        pairs.targets.append(pair[1])
        pairs.lines.append(start)
    pairs.rows = len(table.records)
    return pairs


def check_lengths(pairs: Pairs, lengths: list[int], max_length: int, unit: str = "sub-words") -> None:
    """Refuse the first source longer than ``max_length`` (``lengths[i]`` is source ``i``'s, in ``unit``), naming its
    line: a network trained on it would be too slow or too large, and cutting a source would teach wrong
    translations."""
    for i, n in enumerate(lengths):
        if n > max_length:
            raise DataError(
                f"{pairs.where(i)}: the source is {n} {unit} long, over --max-length {max_length}; "
                "raise --max-length or leave the pair out"
            )


def pair_groups(sources: list[str], targets: list[str]) -> list[list[int]]:
    """The pairs joined by a shared sentence on either side, each group in file order, groups by their first pair.

    Union-find: pair ``i`` joins the group of the first pair with the same source, and of the first with the same
    target; the groups are the connected components.
    """
    parent = list(range(len(sources)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[int, str], int] = {}
    for i, pair in enumerate(zip(sources, targets, strict=True)):
        for side, sentence in enumerate(pair):
            j = first.setdefault((side, sentence), i)
            if j != i:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(sources)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def split_pairs(pairs: Pairs, valid_share: float, seed: int = 0) -> tuple[Pairs, Pairs]:
    """``(train, valid)``: whole groups of :func:`pair_groups`, shuffled with ``seed``, go to validation until it
    holds ``valid_share`` of the pairs; the rest train. Both keep the file's order and lines."""
    if not 0 < valid_share < 1:
        raise DataError(f"the validation share must be in (0, 1), got {valid_share}")
    groups = pair_groups(pairs.sources, pairs.targets)
    if len(groups) < 2:
        raise DataError(f"{pairs.path}: too few distinct sentences to cut a validation set; give one with --valid")
    random.Random(seed).shuffle(groups)
    wanted = max(1, round(valid_share * len(pairs)))
    valid: list[int] = []
    taken = 0
    while taken < len(groups) - 1 and len(valid) < wanted:
        valid.extend(groups[taken])
        taken += 1
    train = sorted(i for group in groups[taken:] for i in group)
    return pairs.subset(train), pairs.subset(sorted(valid))


def group_references(sources: list[str], targets: list[str]) -> tuple[list[str], list[list[str]]]:
    """Each distinct source once (in order of first appearance) with every translation of it in the file: a test set
    with several translations of one sentence scores a translation against all of them."""
    references: dict[str, list[str]] = {}
    for source, target in zip(sources, targets, strict=True):
        references.setdefault(source, []).append(target)
    return list(references), list(references.values())
