"""Reading sentence pairs: every row accounted for, bad input one line naming the file and line; the validation cut
keeps every pair that shares a sentence on one side."""

import json

import pytest

from rnnkit.errors import DataError
from rnnkit.tasks.translate.data import check_lengths, group_references, pair_groups, read_pairs, split_pairs


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_tsv_pairs_with_attribution_and_blank_lines(tmp_path):
    path = write(
        tmp_path / "fra.txt",
        "Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM)\n"
        "\n"
        "Hi.\tSalut\u202f!\r\n"
        "Run!\t Cours ! \n",
    )
    pairs = read_pairs(path)
    assert pairs.sources == ["Go.", "Hi.", "Run!"]
    assert pairs.targets == ["Va !", "Salut\u202f!", "Cours !"]
    assert pairs.lines == [1, 3, 4] and pairs.skipped_lines == [2] and pairs.rows == 4
    summary = pairs.summary()
    assert "read 4 rows" in summary and "3 pairs" in summary and "1 blank line (2)" in summary
    assert "ignored the columns after the second on 1 line" in summary


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("Go.\tVa !\nHello there\n", ["line 2", "no tab between source and target", "'Hello there'"]),
        ("Go.\tVa !\nHi.\t \n", ["line 2", "empty target sentence"]),
        ("Go.\tVa !\n\tBonjour\n", ["line 2", "empty source sentence"]),
        ("\n\n  \n", ["the file is empty"]),
    ],
)
def test_bad_tsv_is_one_line_naming_the_line(tmp_path, text, fragments):
    path = write(tmp_path / "pairs.tsv", text)
    with pytest.raises(DataError) as error:
        read_pairs(path)
    message = str(error.value)
    assert "\n" not in message and str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_a_file_without_pairs_is_one_line(tmp_path):
    with pytest.raises(DataError, match="pairs.tsv: the file is empty"):
        read_pairs(write(tmp_path / "pairs.tsv", "\n \n\t\n"))
    with pytest.raises(DataError, match="pairs.csv: no sentence pairs in the file"):
        read_pairs(write(tmp_path / "pairs.csv", "source,target\n,\n ,\n"))
    with pytest.raises(DataError, match="pairs.jsonl: no sentence pairs in the file"):
        read_pairs(write(tmp_path / "pairs.jsonl", '{"source": "", "target": ""}\n'))


def test_csv_and_jsonl_columns(tmp_path):
    csv_path = write(tmp_path / "p.csv", 'id,en,fr\n1,"Hello, you.",Salut.\n2,Go.,Va !\n,,\n')
    pairs = read_pairs(csv_path, source_column="en", target_column="fr")
    assert pairs.sources == ["Hello, you.", "Go."] and pairs.targets == ["Salut.", "Va !"]
    assert pairs.lines == [2, 3] and pairs.skipped_lines == [4]
    with pytest.raises(DataError, match="no source column 'source'; columns found: id, en, fr"):
        read_pairs(csv_path)
    jsonl = write(tmp_path / "p.jsonl", json.dumps({"source": "Go.", "target": "Va !"}) + "\n" + '{"source": "Hi."}\n')
    with pytest.raises(DataError, match=r"p.jsonl line 2: empty target"):
        read_pairs(jsonl)


def test_the_validation_cut_keeps_groups_together():
    sources = ["a", "a", "b", "c", "d", "e", "f", "g", "g", "h"]
    targets = ["A1", "A2", "A2", "C", "D", "E", "F", "G", "X", "X"]  # a-b joined by A2, g-h by X
    assert pair_groups(sources, targets) == [[0, 1, 2], [3], [4], [5], [6], [7, 8, 9]]
    from rnnkit.tasks.translate.data import Pairs

    pairs = Pairs(sources, targets, "mem")
    for seed in range(20):
        train, valid = split_pairs(pairs, 0.3, seed)
        assert len(train) + len(valid) == len(pairs) and len(valid) >= 3
        for side in ("sources", "targets"):
            assert not set(getattr(train, side)) & set(getattr(valid, side))
        assert train.lines == sorted(train.lines) and valid.lines == sorted(valid.lines)
    assert split_pairs(pairs, 0.3, 7)[1].lines == split_pairs(pairs, 0.3, 7)[1].lines


def test_the_sample_splits_without_leaks(data_dir):
    pairs = read_pairs(data_dir / "tatoeba_eng_fra_train_sample.tsv")
    train, valid = split_pairs(pairs, 0.1, 0)
    assert 55 <= len(valid) <= 75 and len(train) + len(valid) == 600
    assert not set(train.sources) & set(valid.sources) and not set(train.targets) & set(valid.targets)


def test_references_are_grouped_by_source():
    sources, references = group_references(["a", "b", "a", "c", "a"], ["1", "2", "3", "4", "5"])
    assert sources == ["a", "b", "c"] and references == [["1", "3", "5"], ["2"], ["4"]]


def test_a_source_over_max_length_names_its_line(tmp_path):
    pairs = read_pairs(write(tmp_path / "p.tsv", "Go.\tVa !\n\nA long one.\tUne longue.\n"))
    check_lengths(pairs, [2, 4], 4)
    with pytest.raises(DataError, match=r"p.tsv line 3: the source is 4 sub-words long, over --max-length 3"):
        check_lengths(pairs, [2, 4], 3)


def test_a_tsv_with_a_header_when_columns_are_named(tmp_path):
    path = write(tmp_path / "p.tsv", 'fr\ten\tnote\nVa !\tGo.\t"x\nSalut.\tHi.\t\n')
    pairs = read_pairs(path, source_column="en", target_column="fr")
    assert pairs.sources == ["Go.", "Hi."] and pairs.targets == ["Va !", "Salut."] and pairs.lines == [2, 3]
