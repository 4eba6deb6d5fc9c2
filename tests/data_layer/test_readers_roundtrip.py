"""Whatever the standard library writes, ``read_examples`` reads back row for row (issue 17).

Texts hold quotes, delimiters, line breaks of every kind and Unicode (U+2028, NEL, emoji); each format is given
what it can hold. Texts come back stripped; empty ones are skipped and counted with their lines.
"""

import csv
import gzip
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.data import read_examples
from rnnkit.errors import DataError

PIECES = ['"', '""', ",", ";", "\t", "|", "\n", "\r\n", "\r", " ", "\u2028", "\x85", "\x0c", "😀", "é", "\\", "'", "a"]
# NUL is left out on purpose: the reader refuses it as a sign of a binary or UTF-16 file
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
TEXTS = st.lists(st.sampled_from(PIECES) | CHARS, max_size=10).map("".join)
# a label holds at least one character that is not a space (an empty label is an error, tested elsewhere)
LABELS = st.builds("{}{}{}".format, TEXTS, st.sampled_from(["a", "é", "😀", '"', ",", ";", "|", "\\"]), TEXTS)
FLAT = ("\t", "\n", "\r")  # what a TSV field cannot hold

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(path: Path, rows: list[tuple[str, str]], text_of=None, **kwargs) -> None:
    """Read ``path`` and compare with ``rows`` (label, text): kept stripped, empty texts skipped and counted."""
    text_of = text_of or (lambda text: text.strip())
    expected = [(text_of(text), label.strip()) for label, text in rows]
    kept = [(text, label) for text, label in expected if text]
    if not kept:
        with pytest.raises(DataError, match="every text is empty"):
            read_examples(path, **kwargs)
        return
    got = read_examples(path, **kwargs)
    assert got.texts == [text for text, _ in kept]
    assert got.labels == [label for _, label in kept]
    assert got.rows == len(rows)
    assert got.skipped_empty == len(got.skipped_lines) == len(rows) - len(kept)
    assert len(got.lines) == len(got.texts) and got.lines == sorted(got.lines)
    assert len(set(got.lines + got.skipped_lines)) == len(rows)  # each row starts on a line of its own


def csv_bytes(rows: list[tuple], header: tuple | None) -> bytes:
    """The rows as csv.writer writes them, with its default line ending (CR LF): only with that ending does it
    quote a field holding a lone CR; with LF it writes one bare, which no reader can tell from a line break."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("roundtrip")


def put(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@SETTINGS
@given(
    rows=st.lists(st.tuples(LABELS, TEXTS), min_size=1, max_size=8),
    gz=st.booleans(),
)
def test_csv_round_trip(folder, rows, gz):
    data = csv_bytes(rows, ("label", "text"))
    path = put(folder, "d.csv.gz" if gz else "d.csv", gzip.compress(data) if gz else data)
    check(path, rows)
    if any(text.strip() for _, text in rows):
        got = read_examples(path)
        assert got.delimiter == "," and got.format == "csv"


@SETTINGS
@given(
    rows=st.lists(st.tuples(LABELS, TEXTS), min_size=1, max_size=8),
    delimiter=st.sampled_from([";", "|", "\t"]),
    sniff=st.booleans(),
)
def test_csv_round_trip_other_delimiters(folder, rows, delimiter, sniff):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(("label", "text"))
    writer.writerows(rows)
    path = put(folder, "d.csv", buffer.getvalue().encode())
    check(path, rows, delimiter=None if sniff else delimiter)
    if sniff and any(text.strip() for _, text in rows):
        got = read_examples(path)
        assert got.delimiter == delimiter and f"read as {delimiter!r}-separated" in got.notes[0]


@SETTINGS
@given(rows=st.lists(st.tuples(LABELS, TEXTS), min_size=1, max_size=8), terminator=st.sampled_from(["\n", "\r\n"]))
def test_jsonl_round_trip(folder, rows, terminator):
    lines = [json.dumps({"text": text, "label": label}, ensure_ascii=False) for label, text in rows]
    check(put(folder, "d.jsonl", (terminator.join(lines) + terminator).encode()), rows)


def flat(text: str) -> str:
    return "".join(" " if c in FLAT else c for c in text)


@SETTINGS
@given(rows=st.lists(st.tuples(LABELS.map(flat), TEXTS.map(flat)), min_size=1, max_size=8))
def test_tsv_round_trip(folder, rows):
    content = "label\ttext\n" + "".join(f"{label}\t{text}\n" for label, text in rows)
    check(put(folder, "d.tsv", content.encode()), rows)


AG_TEXTS = TEXTS.map(lambda s: s.replace("\\", "/"))  # no literal backslash-n, which AG News reads as a line break


@SETTINGS
@given(rows=st.lists(st.tuples(st.integers(1, 4), AG_TEXTS, AG_TEXTS), min_size=1, max_size=8))
def test_agnews_round_trip(folder, rows):
    path = put(folder, "train.csv", csv_bytes(rows, None))
    joined = [(str(label), " ".join(p.strip() for p in (title, body) if p.strip())) for label, title, body in rows]
    check(path, joined)
    if any(text for _, text in joined):
        assert read_examples(path).format == "agnews"
