import csv
import gzip
import json
import re

import pytest

from rnnkit.data import Examples, read_class_names, read_examples
from rnnkit.data.bundled import ag_news_sample
from rnnkit.errors import DataError


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_reads_real_sample(data_dir):
    examples = read_examples(data_dir / "trec_train.csv")
    assert len(examples) == 800
    assert set(examples.labels) == {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}
    german = read_examples(data_dir / "germeval_sample.csv")
    assert any("ü" in t or "ä" in t or "ö" in t for t in german.texts)


def test_bundled_ag_news_sample_has_names_and_sizes():
    bundled = ag_news_sample()
    names = read_class_names(bundled.classes)
    assert names == ["World", "Sports", "Business", "Sci/Tech"]
    train = read_examples(bundled.train, label_names=names)
    test = read_examples(bundled.test, label_names=names)
    assert (len(train), len(test)) == (6000, 1600)
    assert {test.labels.count(n) for n in names} == {400}


def test_tsv_jsonl_gzip_and_several_text_columns(tmp_path):
    tsv = write(tmp_path / "d.tsv", "label\ttitle\tbody\npos\tGreat\tfilm, truly\nneg\tBad\t\n")
    got = read_examples(tsv, text_columns=["title", "body"])
    assert got.texts == ["Great film, truly", "Bad"] and got.labels == ["pos", "neg"]
    jsonl = write(tmp_path / "d.jsonl", '{"text": "a b", "label": 1}\n\n{"text": "c", "label": 0}\n')
    assert read_examples(jsonl).labels == ["1", "0"]
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress(b"label,text\nx,hello\ny,world\n"))
    assert read_examples(gz).texts == ["hello", "world"]
    # the format can be forced whatever the extension
    assert read_examples(write(tmp_path / "d.txt", "label\ttext\na\tb c\n"), format="tsv").texts == ["b c"]


def test_ag_news_format_without_header(tmp_path):
    path = write(
        tmp_path / "train.csv", '"3","Wall St. Bears","Short-sellers\\nare back."\n"1","Talks","Peace talks"\n'
    )
    got = read_examples(path, label_names=["World", "Sports", "Business", "Sci/Tech"])
    assert got.labels == ["Business", "World"]
    assert got.texts[0] == "Wall St. Bears Short-sellers are back."


def test_column_guessing_and_choice(tmp_path):
    path = write(tmp_path / "r.csv", "quality,review,id\n5,loved it,1\n1,hated it,2\n")
    assert read_examples(path, label_column="quality").texts == ["loved it", "hated it"]
    with pytest.raises(DataError, match=r"cannot tell which column holds the label.*quality, review, id"):
        read_examples(path)


@pytest.mark.parametrize(
    ("content", "kwargs", "message"),
    [
        ("", {}, "the file is empty"),
        ("label,text\n", {}, "a header but no rows"),
        ("label,text\na,b\n", {"label_column": "y"}, r"no label column 'y'; columns found: label, text"),
        ("label,text\na,b\n", {"text_columns": ["body"]}, r"no text column 'body'; columns found: label, text"),
        ("label,text\na,b\nc,d,e\n", {}, r"line 3: expected 2 fields \(label, text\), found 3"),
        ("label,text\na,\n", {}, "every text is empty"),
        ("label,text\na,ok\nb,   \n", {"strict": True}, r"line 3: empty text"),
        ("label,text\n,ok\n", {}, r"line 2: empty label"),
    ],
)
def test_bad_csv_files(tmp_path, content, kwargs, message):
    with pytest.raises(DataError, match=message):
        read_examples(write(tmp_path / "bad.csv", content), **kwargs)


def test_empty_texts_are_skipped_and_counted(tmp_path):
    got = read_examples(write(tmp_path / "d.csv", "label,text\na,one\nb,\na,two\n"))
    assert got.texts == ["one", "two"] and got.skipped_empty == 1


def test_not_utf8_names_the_line(tmp_path):
    path = write(tmp_path / "latin1.csv", "label,text\na,fine\nb,caf\xe9\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"latin1.csv line 3: not valid UTF-8 \(byte 0xe9\)"):
        read_examples(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_examples(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a directory"):
        read_examples(tmp_path)


def test_bad_jsonl(tmp_path):
    with pytest.raises(DataError, match="line 2: not valid JSON"):
        read_examples(write(tmp_path / "d.jsonl", '{"text": "a", "label": 1}\n{oops\n'))
    with pytest.raises(DataError, match="line 1: the line holds an array, not an object; JSON Lines has one object"):
        read_examples(write(tmp_path / "d.jsonl", "[1, 2]\n"))
    with pytest.raises(DataError, match=r"line 2: the line holds a string, not an object; .* such as \{"):
        read_examples(write(tmp_path / "d.jsonl", '{"text": "a", "label": "x"}\n"b"\n'))


def test_a_json_array_of_objects_on_a_line_says_to_put_each_on_its_own(tmp_path):
    content = json.dumps([{"text": "a", "label": "x"}, {"text": "b", "label": "y"}]) + "\n"
    with pytest.raises(DataError, match=r"line 1: the line holds an array of 2 objects, not an object; .*jq -c"):
        read_examples(write(tmp_path / "d.jsonl", content))


def test_jsonl_texts_that_are_not_strings_are_skipped_and_counted(tmp_path):
    """A text that is an object, an array, a number or a boolean is no text anyone wrote: its str() ("{'body': ...")
    was read as one. It is skipped and counted with its line, like an empty text (null is one), or refused under
    strict; a label that is a number is read as JSON writes it ("label": 1 is label "1")."""
    rows = [
        {"text": "a fine text", "label": "pos"},
        {"text": {"body": "t 5"}, "label": "pos"},
        {"text": ["a", "list"], "label": "neg"},
        {"text": 5, "label": "neg"},
        {"text": True, "label": "neg"},
        {"text": None, "label": "neg"},
        {"text": "another", "label": 1},
        {"text": "third", "label": 2.5},
    ]
    path = write(tmp_path / "d.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
    got = read_examples(path)
    assert got.texts == ["a fine text", "another", "third"] and got.labels == ["pos", "1", "2.5"]
    assert got.not_text_lines == [2, 3, 4, 5] and got.skipped_not_text == 4 and got.lines == [1, 7, 8]
    assert got.skipped_lines == [6] and got.rows == 8
    assert got.summary().endswith(
        "3 examples; skipped 1 empty text (line 6); skipped 4 texts that are not strings (lines 2, 3, 4, 5)"
    )
    with pytest.raises(DataError, match=r"line 2: the text is an object, not a string; .* drop --strict"):
        read_examples(path, strict=True)
    pair = [{"title": "a", "body": 3, "label": "x"}, {"title": "b", "body": "c", "label": "y"}]
    several = write(tmp_path / "two.jsonl", "".join(json.dumps(row) + "\n" for row in pair))
    got = read_examples(several, text_columns=["title", "body"])
    assert got.texts == ["b c"] and got.not_text_lines == [1]
    with pytest.raises(DataError, match=r"no text is a string \(line 1 hold"):
        read_examples(write(tmp_path / "none.jsonl", '{"text": 1, "label": "x"}\n'))


@pytest.mark.parametrize(("label", "kind"), [("true", "a boolean"), ('{"a": 1}', "an object"), ("[1]", "an array")])
def test_a_jsonl_label_that_is_not_a_string_or_number_is_refused(tmp_path, label, kind):
    path = write(tmp_path / "d.jsonl", f'{{"text": "a", "label": "x"}}\n{{"text": "b", "label": {label}}}\n')
    with pytest.raises(DataError, match=rf"line 2: the label .* is {kind}, not a string or a number"):
        read_examples(path)
    assert read_examples(path, labelled=False).texts == ["a", "b"]  # unlabelled reading ignores the column


def test_label_names(tmp_path):
    path = write(tmp_path / "d.csv", "label,text\n0,a\n1,b\n7,c\n")
    with pytest.raises(DataError, match="line 4: label '7' is not among the 2 class names"):
        read_examples(path, label_names=["neg", "pos"])
    names = write(tmp_path / "classes.txt", "neg\nneg\n")
    with pytest.raises(DataError, match="listed twice"):
        read_class_names(names)


def test_unlabelled_read(tmp_path):
    got = read_examples(write(tmp_path / "d.jsonl", json.dumps({"text": "only text"}) + "\n"), labelled=False)
    assert got.labels is None and got.texts == ["only text"]


def test_tsv_quotes_are_text(tmp_path):
    path = write(tmp_path / "q.tsv", 'label\ttext\npos\t" a quoted start\nneg\tplain\n')
    got = read_examples(path)
    assert got.texts == ['" a quoted start', "plain"] and got.labels == ["pos", "neg"]


def test_crlf_and_byte_order_mark(tmp_path):
    path = write(tmp_path / "w.csv", b'\xef\xbb\xbflabel,text\r\npos,"good, fine"\r\nneg,bad\r\n')
    got = read_examples(path)
    assert got.texts == ["good, fine", "bad"] and got.labels == ["pos", "neg"]


# ---------------------------------------------------------------------------------- every row accounted for (issue 17)

SWALLOWED = 'label,text\n1,"hello there\n0,world is big\n1,foo bar\n2,last one\n'
SWALLOWED_3 = 'label,text,extra\n1,"hello there,x\n0,world is big,y\n1,foo bar,z\n2,last one,w\n'


def one_line_error(path, **kwargs) -> str:
    with pytest.raises(DataError) as caught:
        read_examples(path, **kwargs)
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and str(path) in message
    return message


@pytest.mark.parametrize("content", [SWALLOWED, SWALLOWED_3], ids=["2 columns", "3 columns"])
def test_unclosed_quote_that_swallows_rows_names_its_line(tmp_path, content):
    message = one_line_error(write(tmp_path / "d.csv", content))
    assert "d.csv line 2: a quote opened on line 2 is never closed" in message
    assert 'two quotes ("")' in message and "quote fields that contain" not in message


def test_quote_open_at_end_of_file(tmp_path):
    message = one_line_error(write(tmp_path / "d.csv", 'label,text\n1,fine\n2,"never closed\n3,also lost'))
    assert "line 3: a quote opened on line 3 is never closed" in message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # the quote closes on a later line and the record then has the wrong number of fields
        ('label,text\n1,"hello\n0,world",y\n1,ok\n', r"line 2: a quote opened on line 2 runs to line 3 and swallows"),
        # the quote closes on a later line and text follows it
        ('label,text\n1,"hello\n0,"world" big\n', r"line 2: a quote opened on line 2 runs to line 3, where text"),
    ],
)
def test_quote_closed_later_names_where_it_opened(tmp_path, content, message):
    assert re.search(message, one_line_error(write(tmp_path / "d.csv", content)))


def test_text_after_a_closing_quote(tmp_path):
    message = one_line_error(write(tmp_path / "d.csv", 'label,text\n1,ok\n2,"abc"x\n'))
    assert 'line 3: text after a closing quote; a quote inside a quoted field is written as two quotes ("")' in message


def test_wrong_field_count_on_one_line_names_the_delimiter(tmp_path):
    message = one_line_error(write(tmp_path / "d.csv", "label;text\na;b\nc;d;e\n"))
    assert "line 3: expected 2 fields (label, text), found 3; quote fields that contain ';' (the delimiter)" in message


def test_quoted_line_breaks_are_read_and_counted(tmp_path):
    path = write(tmp_path / "d.csv", 'label,text\r\npos,"two\r\nlines"\r\nneg,one\r\npos,"a\nb\nc"\r\n')
    got = read_examples(path)
    assert got.texts == ["two\r\nlines", "one", "a\nb\nc"] and got.labels == ["pos", "neg", "pos"]
    assert got.lines == [2, 4, 5] and got.rows == 3
    assert (got.multiline, got.first_multiline_line) == (2, 2)
    assert got.summary().endswith("; 2 texts span several lines (quoted line breaks), the first on line 2")


@pytest.mark.parametrize("header", ["label,text,label", "text,label, Text "])
def test_duplicate_column_names_are_refused(tmp_path, header):
    message = one_line_error(write(tmp_path / "d.csv", f"{header}\na,b,c\n"))
    assert "line 1: the header names a column twice" in message


@pytest.mark.parametrize(
    ("header", "text", "label"), [("Text,Label", "Text", "Label"), ("Message,Category", "Message", "Category")]
)
def test_column_names_match_ignoring_case(tmp_path, header, text, label):
    got = read_examples(write(tmp_path / "d.csv", f"{header}\nhello,x\n"))
    assert got.texts == ["hello"] and got.labels == ["x"]
    assert (got.text_columns, got.label_column) == ([text], label)
    if text == "Message":  # the obvious names need no note: the summary names every column used
        assert f"text column {text!r} and label column {label!r} guessed" in got.notes[-1]
    else:
        assert got.notes == []
    assert f"text column {text!r}, label column {label!r}" in got.summary()


def test_text_column_option_matches_ignoring_case(tmp_path):
    path = write(tmp_path / "d.csv", "id,Message,Category\n1,hi,x\n")
    got = read_examples(path, text_columns=["message"], label_column="CATEGORY")
    assert got.texts == ["hi"] and got.columns() == {
        "format": "csv",
        "delimiter": ",",
        "text_columns": ["Message"],
        "label_column": "Category",
    }
    assert got.notes == []


def test_semicolon_csv_is_sniffed_with_a_note(tmp_path):
    path = write(tmp_path / "d.csv", 'label;text\npos;good, fine\nneg;"bad; really"\n')
    got = read_examples(path)
    assert got.texts == ["good, fine", "bad; really"] and got.labels == ["pos", "neg"]
    assert got.delimiter == ";"
    assert "read as ';'-separated (guessed; pass --delimiter to choose)" in got.notes


def test_explicit_delimiter(tmp_path):
    path = write(tmp_path / "d.csv", "label;text\npos;good, fine\n")
    got = read_examples(path, delimiter=";")
    assert got.texts == ["good, fine"] and not any("guessed; pass --delimiter" in note for note in got.notes)
    # a comma header stays comma-separated unless told otherwise
    pipes = write(tmp_path / "p.csv", "label|text\npos|a, b\n")
    assert read_examples(pipes, delimiter="|").texts == ["a, b"]
    with pytest.raises(DataError, match="delimiter ';;': give one character"):
        read_examples(path, delimiter=";;")


def test_all_empty_rows_are_counted_as_skipped(tmp_path):
    got = read_examples(write(tmp_path / "d.csv", "label,text\na,one\n,\n\n,,\nb,\na,two\n"))
    assert got.texts == ["one", "two"] and got.lines == [2, 7]
    assert got.rows == 5 and got.skipped_empty == 3 and got.skipped_lines == [3, 5, 6]
    with pytest.raises(DataError, match="line 3: empty text"):
        read_examples(write(tmp_path / "d.csv", "label,text\na,one\n,,\n"), strict=True)


def test_jsonl_lines_end_at_newline_only(tmp_path):
    texts = ["a\u2028b", "c\x85d\x0ce", "f\u2029g\x1ch"]
    content = "".join(json.dumps({"text": t, "label": "x"}, ensure_ascii=False) + "\n" for t in texts)
    got = read_examples(write(tmp_path / "d.jsonl", content))
    assert got.texts == texts and got.lines == [1, 2, 3] and got.rows == 3
    assert got.delimiter is None and got.format == "jsonl"


def test_summary_wording(tmp_path):
    rows = "".join(f"{i % 2},text {i}\n" if i % 3 else f"{i % 2},\n" for i in range(1, 21))
    got = read_examples(write(tmp_path / "train.csv", "label,text\n" + rows))
    assert got.summary() == (
        f"read 20 rows of {tmp_path / 'train.csv'} (csv; text column 'text', label column 'label'): 14 examples; "
        "skipped 6 empty texts (lines 4, 7, 10, 13, 16, …)"
    )
    one = read_examples(write(tmp_path / "one.tsv", "label\ttext\nx\thello\ny\t\n"), labelled=False)
    assert one.summary() == f"read 2 rows of {tmp_path / 'one.tsv'} (tsv; text column 'text'): 1 example; " + (
        "skipped 1 empty text (line 3)"
    )
    ag = read_examples(write(tmp_path / "ag.csv", '3;"Title";"Body"\n1;"T";"B"\n'))
    assert ag.summary().startswith(
        f"read 2 rows of {tmp_path / 'ag.csv'} (agnews, ';'-separated; text columns 'title' + 'description', "
        "label column 'label'): 2 examples"
    )
    assert ag.notes == [
        "read as ';'-separated (guessed; pass --delimiter to choose)",
        "read as AG News (no header; columns class, title, description), detected from the first row; "
        "pass --format csv if the file has a header",
    ]


def test_examples_made_by_hand_still_work():
    made = Examples(["a", "b"], ["x", "y"], "memory")
    assert len(made) == 2 and made.rows == 2 and made.skipped_empty == 0
    assert made.summary() == "read 2 rows of memory: 2 examples"


def test_other_csv_errors_are_one_line(tmp_path):
    message = one_line_error(write(tmp_path / "d.csv", "label,text\na,ok\nb,bad\x00byte\n"))
    assert "line 3: a NUL byte" in message
    before = csv.field_size_limit(20)
    try:
        message = one_line_error(write(tmp_path / "d.csv", "label,text\na,ok\nb,a text longer than twenty\n"))
    finally:
        csv.field_size_limit(before)
    assert "line 3: a field longer than 20 characters" in message


def test_header_over_several_lines_is_refused(tmp_path):
    message = one_line_error(write(tmp_path / "d.csv", 'label,"text\nx",y\na,b\n'))
    assert "line 1: the header runs over several lines" in message


def test_widened_column_guesses(tmp_path):
    got = read_examples(write(tmp_path / "d.csv", "Review Text,Rating\ngreat,5\n"))
    assert (got.text_columns, got.label_column) == (["Review Text"], "Rating")
    got = read_examples(write(tmp_path / "s.csv", "sms,Intent\nhi there,greet\n"))
    assert (got.text_columns, got.label_column) == (["sms"], "Intent")


def test_damaged_gzip_is_a_data_error(tmp_path):
    data = bytearray(gzip.compress(b"label,text\n" + b"pos,hello world\n" * 50))
    data[10] = 0xFF  # the first byte of the compressed stream: zlib's "invalid block type", not an OSError
    message = one_line_error(write(tmp_path / "d.csv.gz", bytes(data)))
    assert "not a readable gzip file" in message
