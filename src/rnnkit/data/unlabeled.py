"""Unlabelled texts for pretraining (``--unlabeled FILE``): one text per line of a plain text file, or the text
column of a CSV, TSV or JSONL file (its labels, if any, unread). Every line or row is read or reported: blank ones
are skipped and counted, as labelled files' empty texts are."""

from __future__ import annotations

from pathlib import Path

from rnnkit.data.readers import Examples, read_examples, read_text_file
from rnnkit.errors import DataError

TABLES = (".csv", ".tsv", ".tab", ".jsonl", ".ndjson")


def read_unlabeled(path: str | Path, text_columns: list[str] | str | None = None) -> Examples:
    """The texts of ``path``: a table's text column (``text_columns`` as for labelled files), else its lines."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    if suffixes and suffixes[-1] in TABLES:
        return read_examples(path, text_columns=text_columns, labelled=False)
    lines = read_text_file(path).splitlines()
    texts = [(number, line.strip()) for number, line in enumerate(lines, start=1)]
    kept = [(number, text) for number, text in texts if text]
    if not kept:
        raise DataError(f"{path}: no text in it; give one text per line")
    blank = [number for number, text in texts if not text]
    return Examples(
        [text for _, text in kept],
        None,
        str(path),
        skipped_empty=len(blank),
        lines=[number for number, _ in kept],
        skipped_lines=blank,
        format="lines",
    )
