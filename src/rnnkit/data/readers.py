"""Reading labelled text from CSV, TSV, JSONL and the AG News format, with one-line errors for bad files.

Files may come from anyone: every problem is reported with the file, the line and what to do, never a traceback.
Every data row is accounted for: it becomes an example, or it is skipped and counted (with its line), or the read
fails with a message. A quote left open in a CSV file would otherwise swallow the rows after it without a word.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from rnnkit.errors import DataError

FORMATS = ("csv", "tsv", "jsonl", "agnews")
# Column names tried in order when no column is given; matched ignoring case and surrounding spaces.
TEXT_COLUMN_GUESSES = (
    "text",
    "sentence",
    "review",
    "content",
    "document",
    "body",
    "comment",
    "tweet",
    "message",
    "review_text",
    "review text",
    "review_body",
    "comment_text",
    "tweet_text",
    "text_content",
    "msg",
    "sms",
    "post",
    "utterance",
    "question",
    "query",
    "phrase",
    "headline",
    "abstract",
    "description",
    "title",
)
LABEL_COLUMN_GUESSES = (
    "label",
    "labels",
    "class",
    "category",
    "target",
    "sentiment",
    "y",
    "label_name",
    "class_name",
    "intent",
    "topic",
    "polarity",
    "emotion",
    "rating",
    "stars",
    "tag",
    "genre",
    "classification",
)
AGNEWS_COLUMNS = ("label", "title", "description")
DELIMITER_GUESSES = (";", "\t", "|")  # tried, in this order, when a .csv header holds no comma outside quotes
SNIFF_ROWS = 5  # rows after the header that must agree with a guessed delimiter
SHOWN_LINES = 5  # line numbers listed in a summary before "…"
_JSON_SPACE = " \t\r\n"  # what JSON counts as whitespace; a line of only these is blank

csv.field_size_limit(2**24)  # long documents are fine; the default 128 KiB limit is not a safety feature here


@dataclass
class Examples:
    """Texts and their labels (``None`` for unlabelled input), read from ``source``, and how they were read.

    ``rows`` counts the file's data records (header and blank lines excluded); each became an example (starting on
    ``lines[i]``) or was skipped, as empty (starting on one of ``skipped_lines``) or as a JSON value that is not a
    string (one of ``not_text_lines``), so nothing goes missing unseen.
    """

    texts: list[str]
    labels: list[str] | None
    source: str
    skipped_empty: int = 0
    rows: int = -1  # -1: not given; then len(texts) + skipped_empty + skipped_not_text
    lines: list[int] = field(default_factory=list)
    skipped_lines: list[int] = field(default_factory=list)
    skipped_not_text: int = 0  # JSONL texts that are objects, arrays, numbers or booleans, not strings
    not_text_lines: list[int] = field(default_factory=list)
    format: str = ""
    delimiter: str | None = None
    text_columns: list[str] = field(default_factory=list)
    label_column: str | None = None
    notes: list[str] = field(default_factory=list)
    multiline: int = 0
    first_multiline_line: int | None = None

    def __post_init__(self) -> None:
        if self.rows < 0:
            self.rows = len(self.texts) + self.skipped_empty + self.skipped_not_text

    def __len__(self) -> int:
        return len(self.texts)

    def columns(self) -> dict[str, Any]:
        """How the file was read, for a model's config.json, so the same columns can be read again."""
        return {
            "format": self.format,
            "delimiter": self.delimiter,
            "text_columns": list(self.text_columns),
            "label_column": self.label_column,
        }

    def summary(self) -> str:
        """One line saying what was read and what was skipped, e.g. ``read 6,000 rows of d.csv (csv; ...): ...``."""
        how = []
        if self.format:
            usual = "\t" if self.format == "tsv" else ","
            separated = self.delimiter is not None and self.delimiter != usual
            how.append(f"{self.format}, {self.delimiter!r}-separated" if separated else self.format)
        if self.text_columns:
            names = " + ".join(repr(name) for name in self.text_columns)
            columns = f"text column{'s' if len(self.text_columns) > 1 else ''} {names}"
            if self.label_column is not None:
                columns += f", label column {self.label_column!r}"
            how.append(columns)
        line = f"read {_count(self.rows, 'row')} of {self.source}"
        line += f" ({'; '.join(how)})" if how else ""
        line += f": {_count(len(self.texts), 'example')}"
        if self.skipped_empty:
            line += f"; skipped {_count(self.skipped_empty, 'empty text')}"
            if self.skipped_lines:
                line += f" ({_line_list(self.skipped_lines)})"
        if self.skipped_not_text:
            that = "that is not a string" if self.skipped_not_text == 1 else "that are not strings"
            line += f"; skipped {_count(self.skipped_not_text, 'text')} {that}"
            if self.not_text_lines:
                line += f" ({_line_list(self.not_text_lines)})"
        if self.multiline:
            if self.multiline == 1:
                line += f"; 1 text spans several lines (quoted line breaks), on line {self.first_multiline_line}"
            else:
                line += (
                    f"; {self.multiline:,} texts span several lines (quoted line breaks), "
                    f"the first on line {self.first_multiline_line}"
                )
        return line


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _line_list(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:SHOWN_LINES])
    return f"line{'' if len(numbers) == 1 else 's'} {shown}{', …' if len(numbers) > SHOWN_LINES else ''}"


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
        except (OSError, EOFError, zlib.error) as e:  # zlib.error: a damaged stream inside a good gzip header
            raise DataError(f"{path}: not a readable gzip file ({e}); is it damaged or cut short?") from None
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


def looks_like_agnews(text: str, delimiter: str = ",") -> bool:
    """AG News files have no header: the first row is ``class,title,description`` with a numeric class."""
    first = _first_rows(io.StringIO(text, newline=""), delimiter, 1)
    return len(first) == 1 and len(first[0]) == 3 and first[0][0].strip().isdecimal()


# ---------------------------------------------------------------------------------- records


_Row = tuple[int, int, list[str]]  # a delimited record: its first line, its last line, its fields


class _Record(NamedTuple):
    """One data record: the lines it starts and ends on, and its values by column name (empty: an all-empty row):
    strings, or in JSONL whatever JSON value the line holds (checked when the columns are chosen)."""

    start: int
    end: int
    values: dict[str, Any]


@dataclass
class _Table:
    """What a reader found in a file, before columns are chosen."""

    format: str
    delimiter: str | None
    columns: list[str]
    records: list[_Record]
    notes: list[str] = field(default_factory=list)


def _physical_lines(text: str) -> list[str]:
    """The lines as the csv module counts them: ended by ``\\n``, ``\\r\\n`` or a lone ``\\r``, endings kept."""
    return list(io.StringIO(text, newline=""))


def _first_rows(lines: Iterable[str], delimiter: str, count: int) -> list[list[str]]:
    """Up to ``count`` non-empty rows from the top of the file, read leniently: for guessing only, never for data."""
    rows: list[list[str]] = []
    try:
        for row in csv.reader(iter(lines), delimiter=delimiter):
            if any(value.strip() for value in row):
                rows.append(row)
                if len(rows) == count:
                    break
    except csv.Error:
        pass
    return rows


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter of a CSV file, from its header (first non-blank row) and the few rows after it.

    A comma outside quotes in the header settles it: most files are comma-separated, and a ``;`` or ``|`` in a
    header of commas is part of a name. Otherwise the first of ``;``, tab and ``|`` that splits the header and the
    next rows into the same number of fields; failing that, the first that at least splits each of them (a row with
    a stray delimiter is then reported as such, instead of the whole file reading as one column); else a comma.
    """
    header = _first_rows(lines, ",", 1)
    if header and len(header[0]) > 1:
        return ","
    splitting = []
    for candidate in DELIMITER_GUESSES:
        rows = _first_rows(lines, candidate, SNIFF_ROWS + 1)
        if rows and all(len(row) > 1 for row in rows):
            if all(len(row) == len(rows[0]) for row in rows[1:]):
                return candidate
            splitting.append(candidate)
    return splitting[0] if splitting else ","


def _check_delimiter(delimiter: str | None) -> None:
    if delimiter is None:
        return
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise DataError(
            f"delimiter {delimiter!r}: give one character other than a quote or a line break, such as ',' ';' '|' "
            "or a tab"
        )


_START, _FIELD, _QUOTED, _QUOTE_IN_QUOTED = range(4)


@dataclass
class _QuoteScan:
    """Where the quotes of one CSV record go wrong, as line numbers (``None``: no such problem)."""

    open_at_end: int | None = None  # a quote still open when the text ends opened on this line
    stray_after_quote: int | None = None  # text follows a closing quote on this line ...
    stray_opened: int | None = None  # ... and that quoted field opened on this line
    multiline_opened: int | None = None  # the first quoted field holding a line break opened on this line


def _scan_quotes(lines: list[str], first: int, delimiter: str) -> _QuoteScan:
    """Follow the quotes of the record in ``lines`` (starting on line ``first``) as the csv default dialect does.

    The csv module says *that* a record is bad, and where it noticed, which for a quote left open is many lines
    later (or, in some Python versions, never). This says where the quote opened: a quote opens a field only at the
    field's start, and inside a quoted field ``""`` is a quote and a lone ``"`` closes it.
    """
    scan = _QuoteScan()
    state, opened = _START, first
    for number, line in enumerate(lines, first):
        body = line.rstrip("\r\n")
        for char in body:
            if state == _QUOTED:
                if char == '"':
                    state = _QUOTE_IN_QUOTED
            elif state == _QUOTE_IN_QUOTED:
                if char == '"':
                    state = _QUOTED
                elif char == delimiter:
                    state = _START
                else:
                    scan.stray_after_quote, scan.stray_opened = number, opened
                    return scan
            elif char == delimiter:
                state = _START
            elif state == _START and char == '"':
                state, opened = _QUOTED, number
            else:
                state = _FIELD
        if state == _QUOTED:
            if len(body) < len(line) and scan.multiline_opened is None:
                scan.multiline_opened = opened
        else:
            state = _START
    if state == _QUOTED:
        scan.open_at_end = opened
    return scan


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _quote_advice() -> str:
    return 'close it, or write a quote inside a text as two quotes ("")'


def _csv_error(
    path: Path, lines: list[str], start: int, line: int, delimiter: str, quoting: int, error: csv.Error
) -> DataError:
    """A one-line error for a record (lines ``start``..``line``) the csv module refused, naming the line to fix."""
    chunk = lines[start - 1 : line]
    if quoting != csv.QUOTE_NONE:
        scan = _scan_quotes(chunk, start, delimiter)
        if scan.stray_after_quote is not None and scan.stray_opened is not None:
            if scan.stray_opened < scan.stray_after_quote:
                return DataError(
                    f"{path} line {scan.stray_opened}: a quote opened on line {scan.stray_opened} runs to line "
                    f"{scan.stray_after_quote}, where text follows its closing quote; {_quote_advice()}"
                )
            return DataError(
                f"{path} line {scan.stray_after_quote}: text after a closing quote; a quote inside a quoted field "
                'is written as two quotes (""), and a field that holds a quote must be quoted as a whole'
            )
        if scan.open_at_end is not None and line >= len(lines):
            return _open_at_end_error(path, scan.open_at_end, len(lines))
    if sum(len(text) for text in chunk) > csv.field_size_limit():
        return DataError(
            f"{path} line {start}: a field longer than {csv.field_size_limit():,} characters; is a quote left open?"
        )
    kind = "CSV" if quoting != csv.QUOTE_NONE else "TSV"
    return DataError(
        f"{path} line {line}: cannot be read as {kind} ({_one_line(str(error))}); check lines {start} to {line}"
    )


def _open_at_end_error(path: Path, opened: int, last: int) -> DataError:
    if opened == last:
        return DataError(f"{path} line {opened}: a quote opened on this line is never closed; {_quote_advice()}")
    return DataError(
        f"{path} line {opened}: a quote opened on line {opened} is never closed and swallows every line after it "
        f"(to line {last}); {_quote_advice()}"
    )


def _delimited_records(path: Path, lines: list[str], delimiter: str, quoting: int) -> list[_Row]:
    """Every record with its first and last line; blank lines left out; a one-line error for a malformed one."""
    reader = csv.reader(iter(lines), delimiter=delimiter, quoting=quoting, strict=True)
    records: list[_Row] = []
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise _csv_error(path, lines, start, max(reader.line_num, start), delimiter, quoting, e) from None
        if row:  # the csv module gives [] for a blank line, which is no record
            records.append((start, reader.line_num, row))
        start = reader.line_num + 1
    if records and quoting != csv.QUOTE_NONE:  # some Python versions accept a quote still open at the end
        first, last, _ = records[-1]
        opened = _scan_quotes(lines[first - 1 : last], first, delimiter).open_at_end
        if opened is not None:
            raise _open_at_end_error(path, opened, len(lines))
    return records


def _field_count_error(
    path: Path, lines: list[str], record: _Row, columns: list[str], delimiter: str, tsv: bool
) -> DataError:
    """A row with the wrong number of fields: a quote swallowing rows when it spans lines, else a stray delimiter."""
    start, end, row = record
    counts = f"expected {_count(len(columns), 'field')} ({_names(columns)}), found {len(row)}"
    if start < end and not tsv:
        opened = _scan_quotes(lines[start - 1 : end], start, delimiter).multiline_opened
        if opened is not None:
            return DataError(
                f"{path} line {opened}: a quote opened on line {opened} runs to line {end} and swallows the rows "
                f"between ({counts}); {_quote_advice()}"
            )
    if tsv:
        advice = f"a TSV text cannot hold a {delimiter!r}: replace it, or save the file as CSV"
    else:
        advice = f"quote fields that contain {delimiter!r} (the delimiter)"
    return DataError(f"{path} line {start}: {counts}; {advice}")


def _read_delimited(path: Path, text: str, fmt: str, delimiter: str | None, detect_agnews: bool) -> _Table:
    """CSV (quoted), TSV (no quoting: a quote is text) and AG News (CSV without a header) files."""
    lines = _physical_lines(text)
    if "\0" in text:
        number = next(n for n, line in enumerate(lines, 1) if "\0" in line)
        raise DataError(f"{path} line {number}: a NUL byte; the file is binary, damaged or UTF-16: re-save it as UTF-8")
    notes = []
    if fmt == "tsv":
        delimiter, quoting = delimiter or "\t", csv.QUOTE_NONE
    else:
        quoting = csv.QUOTE_MINIMAL
        if delimiter is None:
            delimiter = sniff_delimiter(lines)
            if delimiter != ",":
                notes.append(f"read as {delimiter!r}-separated (guessed; pass --delimiter to choose)")
        if fmt == "csv" and detect_agnews and looks_like_agnews(text, delimiter):
            fmt = "agnews"
            notes.append(
                "read as AG News (no header; columns class, title, description), detected from the first row; "
                "pass --format csv if the file has a header"
            )
    rows = _delimited_records(path, lines, delimiter, quoting)
    if fmt == "agnews":
        columns, body = list(AGNEWS_COLUMNS), rows
    else:
        # rows of nothing but delimiters above the header hold nothing and are no data
        while rows and not any(value.strip() for value in rows[0][2]):
            rows = rows[1:]
        if not rows:
            raise DataError(f"{path}: every row is empty; the file holds no header and no examples")
        (header_start, header_end, header), body = rows[0], rows[1:]
        if header_start < header_end:
            raise DataError(
                f"{path} line {header_start}: the header runs over several lines (lines {header_start} to "
                f"{header_end}); a quote in it is probably not closed"
            )
        columns = [name.strip() for name in header]
        _check_duplicate_columns(path, header_start, columns)
    records = []
    for record in body:
        start, end, row = record
        if not any(value.strip() for value in row):
            records.append(_Record(start, end, {}))  # an all-empty row: skipped and counted, whatever its width
        elif len(row) != len(columns):
            raise _field_count_error(path, lines, record, columns, delimiter, fmt == "tsv")
        else:
            records.append(_Record(start, end, dict(zip(columns, row, strict=True))))
    return _Table(fmt, delimiter, columns, records, notes)


def _read_jsonl(path: Path, text: str) -> _Table:
    """One JSON object per line; lines end at ``\\n`` only, since a JSON string may hold U+2028 and its kin."""
    columns: list[str] = []
    records = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip(_JSON_SPACE):
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as e:  # JSONDecodeError, or a number or nesting beyond Python's limits
            reason = e.msg if isinstance(e, json.JSONDecodeError) else "a number too long or nesting too deep"
            raise DataError(f"{path} line {number}: not valid JSON ({reason}); one object per line") from None
        if not isinstance(record, dict):
            raise DataError(f"{path} line {number}: {_not_an_object(record)}")
        for key in record:
            if key not in columns:
                columns.append(key)
        records.append(_Record(number, number, {k: "" if v is None else v for k, v in record.items()}))
    return _Table("jsonl", None, columns, records)


def json_kind(value: Any) -> str:
    """What JSON calls the type of ``value`` (as :func:`json.loads` gives it), for a message."""
    if isinstance(value, bool):
        return "a boolean"
    kinds = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number"}
    return next((kind for cls, kind in kinds.items() if isinstance(value, cls)), "null")


def _not_an_object(value: Any) -> str:
    """Why a JSONL line holding ``value`` (not an object) is refused, and what to write instead."""
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return (
            f"the line holds an array of {len(value):,} objects, not an object; JSON Lines has one object per line: "
            "put each on a line of its own (jq -c '.[]' FILE does)"
        )
    return (
        f"the line holds {json_kind(value)}, not an object; JSON Lines has one object per line, such as "
        '{"text": "...", "label": "..."}'
    )


# ---------------------------------------------------------------------------------- columns


def _key(name: str) -> str:
    """Column names match ignoring case and surrounding spaces: ``Text`` and `` text`` both name ``text``."""
    return name.strip().casefold()


def _names(columns: list[str]) -> str:
    """Column names for a message: as written, or quoted and escaped when they hold a line break or such."""
    return ", ".join(name if name.isprintable() else repr(name) for name in columns)


def _check_duplicate_columns(path: Path, line: int, columns: list[str]) -> None:
    """Refuse a header naming a column twice (ignoring case): the other column's values would be lost unseen."""
    groups: dict[str, list[str]] = {}
    for name in columns:
        if name:  # unnamed columns (trailing delimiters) cannot be chosen, so may repeat
            groups.setdefault(_key(name), []).append(name)
    repeated = [names for names in groups.values() if len(names) > 1]
    if repeated:
        shown = "; ".join(_names(names) for names in repeated)
        raise DataError(
            f"{path} line {line}: the header names a column twice ({shown}); column names are matched ignoring "
            "case, so rename or remove the extra column"
        )


def _find_column(columns: list[str], wanted: str) -> str | None:
    """The file's spelling of the column ``wanted`` names, if any; an exact match wins over a case-folded one."""
    if wanted in columns:
        return wanted
    matches = [name for name in columns if _key(name) == _key(wanted)]
    return matches[0] if matches else None


def _choose_column(path: Path, columns: list[str], wanted: str, what: str) -> str:
    found = _find_column(columns, wanted)
    if found is None:
        raise DataError(f"{path}: no {what} column {wanted!r}; columns found: {_names(columns)}")
    return found


def _guess_column(path: Path, columns: list[str], guesses: tuple[str, ...], exclude: list[str], what: str) -> str:
    for guess in guesses:
        found = _find_column(columns, guess)
        if found is not None and found not in exclude:
            return found
    hint = "; if the file is not comma-separated, pass --delimiter" if len(columns) == 1 else ""
    option = "--text-column" if what == "text" else "--label-column"
    raise DataError(
        f"{path}: cannot tell which column holds the {what}; pass {option} (columns found: {_names(columns)}){hint}"
    )


def _select_columns(
    path: Path, table: _Table, text_columns: list[str] | None, label_column: str | None, labelled: bool
) -> tuple[list[str], str | None, str | None]:
    """The text columns and label column to use, as spelled in the file, and a note saying what was guessed."""
    columns = table.columns
    guessed = []
    if text_columns:
        texts = [_choose_column(path, columns, name, "text") for name in text_columns]
    elif table.format == "agnews":
        texts = ["title", "description"]
    else:
        exclude = [_find_column(columns, label_column) or ""] if label_column is not None else []
        texts = [_guess_column(path, columns, TEXT_COLUMN_GUESSES, exclude, "text")]
        guessed.append(("text", texts[0], "--text-column"))
    label = None
    if labelled:
        if label_column is not None:
            label = _choose_column(path, columns, label_column, "label")
        else:
            label = _guess_column(path, columns, LABEL_COLUMN_GUESSES, texts, "label")
            if table.format != "agnews":
                guessed.append(("label", label, "--label-column"))
    # The summary names every column used; a note says so only where the guess was not the obvious name.
    guessed = [(kind, name, option) for kind, name, option in guessed if _key(name) not in ("text", "label")]
    note = None
    if guessed:
        what = " and ".join(f"{kind} column {name!r}" for kind, name, _ in guessed)
        options = " / ".join(option for _, _, option in guessed)
        note = f"{what} guessed; pass {options} to choose"
    return texts, label, note


# ---------------------------------------------------------------------------------- reading


def read_examples(
    path: str | Path,
    *,
    format: str | None = None,
    delimiter: str | None = None,
    text_columns: list[str] | tuple[str, ...] | str | None = None,
    label_column: str | None = None,
    labelled: bool = True,
    strict: bool = False,
    label_names: list[str] | None = None,
    trained_on: dict[str, Any] | None = None,
) -> Examples:
    """Read labelled (or, with ``labelled=False``, plain) texts from a file.

    Several ``text_columns`` are joined with a space (AG News: title + description, the default for that
    format). Column names match ignoring case and surrounding spaces; the result names them as the file does.
    Empty texts and rows of nothing but delimiters are skipped and counted (with their lines), or refused with
    ``strict=True``. ``label_names`` maps numeric labels to names: index 0 is the first name (1 in AG News files,
    whose classes count from 1).

    ``delimiter`` is one character. Without it a ``.csv`` (or AG News) file's delimiter is sniffed from its header
    (``,`` unless the header holds none and ``;``, tab or ``|`` fits), a TSV file is tab-separated; TSV files
    have no quoting whatever the delimiter. JSONL files ignore ``delimiter``.

    ``trained_on`` is a model's record of the columns it was trained on (:meth:`Examples.columns`): where the
    columns are not given, those are read, if the file has them, before any guess.
    """
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise DataError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    _check_delimiter(delimiter)
    text = read_text_file(path)
    fmt = format or detect_format(path)
    if fmt == "jsonl":
        table = _read_jsonl(path, text)
    else:
        table = _read_delimited(path, text, fmt, delimiter, detect_agnews=format is None)
    if not table.records:
        raise DataError(f"{path}: a header but no rows; the file holds no examples")
    if isinstance(text_columns, str):
        text_columns = [text_columns]
    if trained_on:
        recorded, label_recorded = trained_on.get("text_columns") or [], trained_on.get("label_column")
        if not text_columns and recorded and all(_find_column(table.columns, name) for name in recorded):
            text_columns = list(recorded)
        if label_column is None and labelled and label_recorded and _find_column(table.columns, label_recorded):
            label_column = label_recorded
    texts_used, label, note = _select_columns(
        path, table, list(text_columns) if text_columns else None, label_column, labelled
    )
    examples = Examples(
        [],
        [] if label is not None else None,
        str(path),
        format=table.format,
        delimiter=table.delimiter,
        text_columns=texts_used,
        label_column=label,
        notes=table.notes + ([note] if note else []),
    )
    _collect(path, table, examples, strict, label_names)
    if not examples.texts:
        if examples.skipped_not_text:
            raise DataError(
                f"{path}: no text is a string ({_line_list(examples.not_text_lines)} hold other JSON values); check "
                f"--text-column (columns found: {_names(table.columns)})"
            )
        raise DataError(f"{path}: every text is empty; check --text-column (columns found: {_names(table.columns)})")
    return examples


def _collect(path: Path, table: _Table, examples: Examples, strict: bool, label_names: list[str] | None) -> None:
    """Turn each record into an example, or skip it as empty and note its line: every row ends up in one place."""
    agnews = table.format == "agnews"
    first_index = 1 if agnews else 0
    label = examples.label_column
    for start, end, values in table.records:
        parts = [values.get(column, "") for column in examples.text_columns]
        wrong = next((part for part in parts if not isinstance(part, str)), None)
        if wrong is not None:  # a JSON object, array, number or boolean: its str() is no text anyone wrote
            if strict:
                raise DataError(
                    f"{path} line {start}: the text is {json_kind(wrong)}, not a string; write it as a string, or "
                    "drop --strict to skip the row"
                )
            examples.skipped_not_text += 1
            examples.not_text_lines.append(start)
            continue
        if agnews:  # AG News escapes newlines as a backslash and "n"; undo it so the text reads as written
            parts = [part.replace("\\n", " ") for part in parts]
        joined = " ".join(part.strip() for part in parts if part.strip())
        if not joined:
            if strict:
                raise DataError(f"{path} line {start}: empty text; remove the row or drop --strict to skip it")
            examples.skipped_empty += 1
            examples.skipped_lines.append(start)
            continue
        if label is not None and examples.labels is not None:
            value = _label_text(values.get(label, ""), path, start)
            if not value:
                raise DataError(f"{path} line {start}: empty label in column {label!r}")
            if label_names is not None:
                value = _name_label(value, label_names, first_index, path, start)
            examples.labels.append(value)
        examples.texts.append(joined)
        examples.lines.append(start)
        if start < end:
            examples.multiline += 1
            if examples.first_multiline_line is None:
                examples.first_multiline_line = start
    examples.rows = len(table.records)


def _label_text(value: Any, path: Path, number: int) -> str:
    """A label as text: a string stripped, or a JSON number as JSON writes it (``"label": 1`` is label "1"); any
    other JSON value (an object, an array, a boolean) is refused, naming the line."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return json.dumps(value)
    shown = json.dumps(value, ensure_ascii=False)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    raise DataError(
        f"{path} line {number}: the label {shown} is {json_kind(value)}, not a string or a number; write it as a string"
    )


def _name_label(value: str, names: list[str], first_index: int, path: Path, number: int) -> str:
    if value in names:
        return value
    if value.lstrip("-").isdecimal() and 0 <= int(value) - first_index < len(names):
        return names[int(value) - first_index]
    raise DataError(f"{path} line {number}: label {value!r} is not among the {len(names)} class names given")


def read_class_names(path: str | Path) -> list[str]:
    """One class name per line (``classes.txt``); line 1 names label 0."""
    names = [line.strip() for line in read_text_file(path).splitlines() if line.strip()]
    if len(set(names)) != len(names):
        raise DataError(f"{path}: a class name is listed twice")
    return names
