"""The classes of a labelled file: their order, and the labels that are probably mistakes.

A stray label becomes a class of its own without complaint from the network: one row labelled ``spam`` among
numeric labels trains a three-class model. These checks say so before any training is spent on it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

NUMBER = re.compile(r"-?\d+(\.\d+)?")
MIN_LABEL_ROWS = 5  # fewer rows than this cannot teach a class, nor leave any for validation
SHOWN_LABELS = 3  # more doubtful labels than this are said in one line, the first few named


def label_order(labels: Iterable[str]) -> list[str]:
    """Distinct labels, numbers in numeric order ("2" before "10"), then names alphabetically."""

    def key(label: str) -> tuple[int, float, str]:
        return (0, float(label), label) if NUMBER.fullmatch(label) else (1, 0.0, label)

    return sorted(set(labels), key=key)


def _where(label: str, count: int, labels: Sequence[str], lines: Sequence[int] | None) -> str:
    rows = f"{count} row{'s' if count != 1 else ''}"
    if not lines:
        return rows
    at = [line for line, value in zip(lines, labels, strict=True) if value == label][:5]
    return f"{rows}: line{'s' if len(at) > 1 else ''} {', '.join(map(str, at))}{' ...' if count > 5 else ''}"


def label_problems(labels: Sequence[str], source: str, lines: Sequence[int] | None = None) -> list[str]:
    """One line for each label that looks like a mistake: a name among numbers, or a class with too few rows.

    ``lines`` (parallel to ``labels``) lets each message name where the label occurs.
    """
    counts = Counter(labels)
    numeric = {label for label in counts if NUMBER.fullmatch(label)}
    problems = []
    names = label_order(set(counts) - numeric) if numeric and len(numeric) < len(counts) else []
    if len(names) > SHOWN_LABELS:
        problems.append(
            f"{source}: {len(names):,} labels are not numbers like the other labels, such as "
            f"{_first(names, counts, labels, lines)}; is --label-column the column of the labels?"
        )
    for label in names if len(names) <= SHOWN_LABELS else []:
        problems.append(
            f"{source}: label {label!r} ({_where(label, counts[label], labels, lines)}) is not a number like "
            f"the other labels; fix or remove the row{'s' if counts[label] > 1 else ''}"
        )
    few = [label for label in label_order(counts) if counts[label] < MIN_LABEL_ROWS and label not in names]
    if len(few) > SHOWN_LABELS:
        problems.append(
            f"{source}: {len(few):,} of {len(counts):,} labels have fewer than {MIN_LABEL_ROWS} rows each, too few "
            f"to learn a class from, such as {_first(few, counts, labels, lines)}; is --label-column the column of "
            "the labels?"
        )
    for label in few if len(few) <= SHOWN_LABELS else []:
        problems.append(
            f"{source}: label {label!r} has only {_where(label, counts[label], labels, lines)}, too few to learn "
            f"a class from (at least {MIN_LABEL_ROWS}); add examples, merge it into another class, or remove it"
        )
    return problems


def _first(shown: Sequence[str], counts: Counter, labels: Sequence[str], lines: Sequence[int] | None) -> str:
    """The first few of many doubtful labels, each with where it occurs."""
    return "; ".join(f"{label!r} ({_where(label, counts[label], labels, lines)})" for label in shown[:SHOWN_LABELS])
