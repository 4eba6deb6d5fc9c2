"""Reading labelled text from CSV, TSV, JSONL and the AG News format, with one-line errors for bad files.

Files may come from anyone: every problem is reported with the file, the line and what to do, never a traceback.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path

from rnnkit.errors import DataError

FORMATS = ("csv", "tsv", "jsonl", "agnews")
TEXT_COLUMN_GUESSES = ("text", "sentence", "review", "content", "document", "body", "comment", "tweet", "message")
LABEL_COLUMN_GUESSES = ("label", "labels", "class", "category", "target", "sentiment", "y")
AGNEWS_COLUMNS = ("label", "title", "description")

csv.field_size_limit(2**24)  # long documents are fine; the default 128 KiB limit is not a safety feature here


@dataclass
class Examples:
    """Texts and their labels (``None`` for unlabelled input), read from ``source``."""

    texts: list[str]
    labels: list[str] | None
    source: str
    skipped_empty: int = 0

    def __len__(self) -> int:
        return len(self.texts)


def detect_format(path: Path) -> str:
    """The format from the file's extension (``.gz`` looked through); CSV when unknown."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    return {".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(ext, "csv")


def read_text_file(path: str | Path) -> str:
    """The whole file as text; gzip looked through; a clear error for a missing, empty or non-UTF-8 file."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a data file")
    raw = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataError(f"{path}: not a readable gzip file ({e})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(
            f"{path} line {line}: not valid UTF-8 (byte 0x{raw[e.start]:02x}); re-save the file as UTF-8"
        ) from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty")
    return text


def _pick(found: list[str], wanted: str | None, guesses: tuple[str, ...], what: str, option: str, path: Path) -> str:
    if wanted is not None:
        if wanted not in found:
            raise DataError(f"{path}: no {what} column {wanted!r}; columns found: {', '.join(found)}")
        return wanted
    for guess in guesses:
        if guess in found:
            return guess
    raise DataError(
        f"{path}: cannot tell which column holds the {what}; pass {option} (columns found: {', '.join(found)})"
    )


def _rows(path: Path, text: str, fmt: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Column names, and each record with the line it starts on."""
    if fmt == "jsonl":
        records, columns = [], []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path} line {number}: not valid JSON ({e.msg}); one object per line") from None
            if not isinstance(record, dict):
                raise DataError(f"{path} line {number}: expected a JSON object, got {type(record).__name__}")
            for key in record:
                if key not in columns:
                    columns.append(key)
            records.append((number, {k: "" if v is None else str(v) for k, v in record.items()}))
        return columns, records
    if fmt == "tsv":  # tab-separated files rarely quote, and a text may well start with a quote mark
        reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for row in reader:
            if row and any(field.strip() for field in row):
                rows.append((reader.line_num, row))
    except csv.Error as e:
        raise DataError(f"{path} line {reader.line_num}: {e}") from None
    if fmt == "agnews":
        columns, body = list(AGNEWS_COLUMNS), rows
    else:
        (_, header), body = rows[0], rows[1:]
        columns = [name.strip() for name in header]
    records = []
    for number, row in body:
        if len(row) != len(columns):
            raise DataError(
                f"{path} line {number}: expected {len(columns)} fields ({', '.join(columns)}), found {len(row)}; "
                f"quote fields that contain the delimiter"
            )
        records.append((number, dict(zip(columns, row, strict=True))))
    return columns, records


def looks_like_agnews(text: str) -> bool:
    """AG News files have no header: the first row is ``class,title,description`` with a numeric class."""
    first = next(csv.reader(io.StringIO(text.split("\n", 1)[0])), [])
    return len(first) == 3 and first[0].strip().isdigit()


def read_examples(
    path: str | Path,
    *,
    format: str | None = None,
    text_columns: list[str] | tuple[str, ...] | str | None = None,
    label_column: str | None = None,
    labelled: bool = True,
    strict: bool = False,
    label_names: list[str] | None = None,
) -> Examples:
    """Read labelled (or, with ``labelled=False``, plain) texts from a file.

    Several ``text_columns`` are joined with a space (AG News: title + description, the default for that
    format). Empty texts are skipped and counted, or refused with ``strict=True``. ``label_names`` maps
    numeric labels to names: index 0 is the first name (1 in AG News files, whose classes count from 1).
    """
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise DataError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    text = read_text_file(path)
    fmt = format or detect_format(path)
    if fmt == "csv" and format is None and looks_like_agnews(text):
        fmt = "agnews"
    columns, records = _rows(path, text, fmt)
    if not records:
        raise DataError(f"{path}: a header but no rows; the file holds no examples")

    if isinstance(text_columns, str):
        text_columns = [text_columns]
    if not text_columns:
        text_columns = ["title", "description"] if fmt == "agnews" else None
    if text_columns:
        for name in text_columns:
            _pick(columns, name, (), "text", "--text-column", path)
    else:
        text_columns = [_pick(columns, None, TEXT_COLUMN_GUESSES, "text", "--text-column", path)]
    label = _pick(columns, label_column, LABEL_COLUMN_GUESSES, "label", "--label-column", path) if labelled else None

    texts: list[str] = []
    labels: list[str] = []
    skipped = 0
    first_index = 1 if fmt == "agnews" else 0
    for number, record in records:
        # AG News escapes newlines as a backslash and "n"; undo it so the text reads as written.
        parts = [record.get(c, "").replace("\\n", " ") if fmt == "agnews" else record.get(c, "") for c in text_columns]
        joined = " ".join(p.strip() for p in parts if p.strip())
        if not joined:
            if strict:
                raise DataError(f"{path} line {number}: empty text; remove the row or drop --strict to skip it")
            skipped += 1
            continue
        if label is not None:
            value = record.get(label, "").strip()
            if not value:
                raise DataError(f"{path} line {number}: empty label in column {label!r}")
            if label_names is not None:
                value = _name_label(value, label_names, first_index, path, number)
            labels.append(value)
        texts.append(joined)
    if not texts:
        raise DataError(f"{path}: every text is empty; check --text-column (columns found: {', '.join(columns)})")
    return Examples(texts, labels if label is not None else None, str(path), skipped)


def _name_label(value: str, names: list[str], first_index: int, path: Path, number: int) -> str:
    if value in names:
        return value
    if value.lstrip("-").isdigit() and 0 <= int(value) - first_index < len(names):
        return names[int(value) - first_index]
    raise DataError(f"{path} line {number}: label {value!r} is not among the {len(names)} class names given")


def read_class_names(path: str | Path) -> list[str]:
    """One class name per line (``classes.txt``); line 1 names label 0."""
    names = [line.strip() for line in read_text_file(path).splitlines() if line.strip()]
    if len(set(names)) != len(names):
        raise DataError(f"{path}: a class name is listed twice")
    return names
