"""Damaged files lose no row unseen (issue 17).

Small valid files are cut short, have bytes changed, quotes inserted, lines deleted or joined, by a seeded
``random.Random``. Each read must return exactly the rows a strict reference parser finds (the standard library's
``csv.reader(strict=True)`` with a check for a quote open at the end, ``json.loads`` per line, a split on tabs), or
raise a one-line ``DataError`` naming the file (and the line, for a problem on a line). Nothing else may escape.
"""

import csv
import gzip
import io
import json
import random
import re
from pathlib import Path

import pytest

from rnnkit.data import read_examples
from rnnkit.data.readers import sniff_delimiter
from rnnkit.errors import DataError

INPUTS = 300  # per format

BASES = {
    "csv": (
        "d.csv",
        'label,text\r\npos,"A film, truly ""great""\r\nand long"\r\nneg,plain text here\r\n'
        'neu,"quoted, with comma"\r\npos,"multi\nline\ntext"\n,\nneg,\npos,last one\n',
    ),
    "tsv": ("d.tsv", 'label\ttext\npos\t"a quoted start\nneg\tplain, with comma\n\nneu\t\npos\tit\'s "fine"\n'),
    "jsonl": (
        "d.jsonl",
        '{"text": "a\u2028b", "label": "pos"}\n{"text": "x\\ny \\"q\\"", "label": 1}\n\n'
        '{"text": "", "label": null}\r\n{"text": "last", "label": "neg"}\n',
    ),
    "agnews": (
        "train.csv",
        '"3","Wall St. Bears","Short-sellers\\nare back."\n"1","Talks, again","Peace ""talks""\nresume"\n'
        '"2","",""\n"4","Tech","chips"\n',
    ),
}
SPECIAL = b'"",;\t\n\r\\{}: \x00\xff\xc3'
PARSE_ERROR, FILE_ERROR = "line", "file"  # what the reference says of a file it cannot read


def corrupt(data: bytes, rng: random.Random) -> bytes:
    """One to three random corruptions of ``data``."""
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["truncate", "flip", "quote", "delete line", "join lines"])
        if not data:
            break
        at = rng.randrange(len(data))
        if kind == "truncate":
            data = data[:at]
        elif kind == "flip":
            data = data[:at] + bytes([rng.choice(SPECIAL)]) + data[at + 1 :]
        elif kind == "quote":
            data = data[:at] + b'"' + data[at:]
        else:
            lines = data.split(b"\n")
            if len(lines) > 1:
                i = rng.randrange(len(lines) - 1)
                if kind == "delete line":
                    del lines[i]
                else:
                    lines[i : i + 2] = [lines[i] + lines[i + 1]]
            data = b"\n".join(lines)
    return data


def open_at_end(record_lines: list[str], delimiter: str) -> bool:
    """Whether a quote is still open at the end of a record, in the csv default dialect (a separate check)."""
    text = "".join(record_lines)
    quoted, at_field_start, i = False, True, 0
    while i < len(text):
        c = text[i]
        if quoted:
            if c == '"' and text[i + 1 : i + 2] == '"':
                i += 1
            elif c == '"':
                quoted, at_field_start = False, False
        elif c == '"' and at_field_start:
            quoted = True
        else:
            at_field_start = c in (delimiter, "\r", "\n")
        i += 1
    return quoted


def reference_delimited(text: str, fmt: str, delimiter: str) -> tuple[list[str], list[tuple[int, list[str]]]] | str:
    """Columns and (start line, fields) of each record, all-empty rows as []; or why the file cannot be read."""
    lines = list(io.StringIO(text, newline=""))
    records = []
    if fmt == "tsv":
        records = [(n, line.rstrip("\r\n").split(delimiter)) for n, line in enumerate(lines, 1) if line.strip("\r\n")]
    else:
        reader = csv.reader(iter(lines), delimiter=delimiter, strict=True)
        start = 1
        try:
            for row in reader:
                if row:
                    records.append((start, row, reader.line_num))
                start = reader.line_num + 1
        except csv.Error:
            return PARSE_ERROR
        if records and open_at_end(lines[records[-1][0] - 1 : records[-1][2]], delimiter):
            return PARSE_ERROR
        records = [(start, row) for start, row, _ in records]
    if fmt == "agnews":
        columns = ["label", "title", "description"]
    else:
        while records and not any(v.strip() for v in records[0][1]):
            records = records[1:]
        if not records:
            return FILE_ERROR
        columns, records = [name.strip() for name in records[0][1]], records[1:]
    body = []
    for start, row in records:
        if not any(v.strip() for v in row):
            body.append((start, []))
        elif len(row) != len(columns):
            return PARSE_ERROR
        else:
            body.append((start, row))
    return columns, body


def reference_jsonl(text: str) -> tuple[list[str], list[tuple[int, list[str]]]] | str:
    columns: list[str] = []
    objects = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip(" \t\r\n"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            return PARSE_ERROR
        if not isinstance(value, dict):
            return PARSE_ERROR
        columns += [key for key in value if key not in columns]
        objects.append((number, value))
    rows = [(n, ["" if o.get(k) is None else o.get(k, "") for k in columns]) for n, o in objects]
    return columns, rows  # JSON values as they are: a text that is not a string is skipped, a number label read


def reference(data: bytes, fmt: str, delimiter: str | None):
    """The reference reading: columns and rows, or PARSE_ERROR / FILE_ERROR."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return PARSE_ERROR
    if not text.strip():
        return FILE_ERROR
    if fmt == "jsonl":
        return reference_jsonl(text)
    if delimiter is None:
        delimiter = "\t" if fmt == "tsv" else sniff_delimiter(list(io.StringIO(text, newline="")))
    return reference_delimited(text, fmt, delimiter)


def expected_examples(ref, fmt: str, text_columns: list[str], label_column: str | None):
    """Texts, labels, their lines, the lines skipped as empty and those skipped as not strings (JSONL) that the
    reader must report, by the same strip/skip rules."""
    columns, rows = ref
    texts, labels, lines, skipped, not_text = [], [], [], [], []
    for start, row in rows:
        values = dict(zip(columns, row, strict=False)) if row else {}
        parts = [values.get(c, "") for c in text_columns]
        if not all(isinstance(p, str) for p in parts):
            not_text.append(start)
            continue
        if fmt == "agnews":
            parts = [p.replace("\\n", " ") for p in parts]
        text = " ".join(p.strip() for p in parts if p.strip())
        if not text:
            skipped.append(start)
            continue
        texts.append(text)
        label = values.get(label_column, "")
        labels.append(label.strip() if isinstance(label, str) else json.dumps(label))  # a number, as JSON has it
        lines.append(start)
    return texts, labels, lines, skipped, not_text


def read_one(path: Path, data: bytes, fmt: str, stats: dict[str, int]) -> None:
    """Read one damaged file and hold the result against the reference."""
    path.write_bytes(data)
    plain = gzip.decompress(data) if path.suffix == ".gz" and _gunzips(data) else data
    try:
        got = read_examples(path, format=fmt)
    except DataError as e:
        message = str(e)
        assert len(message.splitlines()) == 1, message
        assert str(path) in message, message
        if (path.suffix != ".gz" or _gunzips(data)) and reference(plain, fmt, None) == PARSE_ERROR:
            assert re.search(r"line \d+", message), message
        stats["refused"] += 1
        return
    assert path.suffix != ".gz" or _gunzips(data)
    ref = reference(plain, fmt, got.delimiter)
    assert ref not in (PARSE_ERROR, FILE_ERROR), f"read {got.rows} rows of what the reference refuses: {plain!r}"
    texts, labels, lines, skipped, not_text = expected_examples(ref, fmt, got.text_columns, got.label_column)
    assert got.rows == len(ref[1]) == len(got.texts) + len(got.skipped_lines) + len(got.not_text_lines), plain
    assert (got.texts, got.labels, got.lines, got.skipped_lines) == (texts, labels, lines, skipped), plain
    assert got.not_text_lines == not_text and got.skipped_not_text == len(not_text), plain
    stats["read"] += 1


def _gunzips(data: bytes) -> bool:
    try:
        gzip.decompress(data)
    except Exception:
        return False
    return True


@pytest.mark.parametrize("fmt", sorted(BASES))
def test_damaged_files_are_read_exactly_or_refused_in_one_line(tmp_path, fmt):
    name, content = BASES[fmt]
    base = content.encode()
    rng = random.Random(f"rnnkit-fuzz-{fmt}")
    stats = {"read": 0, "refused": 0}
    read_one(tmp_path / name, base, fmt, stats)  # the undamaged file reads
    assert stats["read"] == 1
    for _ in range(INPUTS):
        read_one(tmp_path / name, corrupt(base, rng), fmt, stats)
    assert stats["read"] + stats["refused"] == INPUTS + 1
    assert stats["read"] > INPUTS // 10 and stats["refused"] > INPUTS // 10, stats  # both paths were exercised


def test_damaged_gzip_files(tmp_path):
    base = gzip.compress(BASES["csv"][1].encode())
    rng = random.Random("rnnkit-fuzz-gzip")
    stats = {"read": 0, "refused": 0}
    for _ in range(INPUTS // 3):
        read_one(tmp_path / "d.csv.gz", corrupt(base, rng), "csv", stats)
    assert stats["refused"] > 0
