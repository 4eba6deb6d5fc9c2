import gzip
import json

import pytest

from rnnkit.data import read_class_names, read_examples
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
    path = write(tmp_path / "r.csv", "stars,review,id\n5,loved it,1\n1,hated it,2\n")
    assert read_examples(path, label_column="stars").texts == ["loved it", "hated it"]
    with pytest.raises(DataError, match=r"cannot tell which column holds the label.*stars, review, id"):
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
    with pytest.raises(DataError, match="line 1: expected a JSON object"):
        read_examples(write(tmp_path / "d.jsonl", "[1, 2]\n"))


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
