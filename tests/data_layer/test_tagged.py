"""Tagged sentences: CoNLL-U and token-per-line files read, checked line by line, and written back exactly."""

import gzip
import re

import pytest

from rnnkit.data.tagged import (
    TaggedCorpus,
    detect_tagged_format,
    is_tagged_file,
    read_tagged,
    tagged_from_tokens,
    write_tagged,
)
from rnnkit.errors import DataError

WORD = "{id}\t{form}\t{form}\t{upos}\t_\t_\t0\troot\t_\t_"


def write(path, text):
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def conllu(*sentences):
    """A CoNLL-U file of sentences given as (form, upos) pairs."""
    blocks = []
    for words in sentences:
        lines = [WORD.format(id=i, form=form, upos=upos) for i, (form, upos) in enumerate(words, 1)]
        blocks.append("\n".join(lines) + "\n\n")
    return "".join(blocks)


def word_lines(text):
    """The word lines of a CoNLL-U text, counted differently from the reader: by a regular expression on the ID."""
    return [line.split("\t") for line in text.splitlines() if re.match(r"\d+\t", line)]


def test_samples_give_counts_computed_independently(data_dir):
    for name in ("ewt_train_sample.conllu", "ewt_dev_sample.conllu"):
        text = (data_dir / name).read_text(encoding="utf-8")
        corpus = read_tagged(data_dir / name)
        words = word_lines(text)
        assert len(corpus.sentences) == text.count("\n\n") == text.count("# sent_id")
        assert sum(map(len, corpus.tokens)) == len(words)
        assert [tag for tags in corpus.tags for tag in tags] == [columns[3] for columns in words]
        assert corpus.skipped["multiword-token ranges"] == len(re.findall(r"^\d+-\d+\t", text, re.M))
        assert corpus.skipped["empty nodes"] == len(re.findall(r"^\d+\.\d+\t", text, re.M)) == 1
        assert corpus.format == "conllu" and corpus.tag_column == "upos" and corpus.has_tags
    train = read_tagged(data_dir / "ewt_train_sample.conllu")
    assert train.summary() == (
        f"read 120 sentences (2,414 tokens, tags from column upos) from {data_dir / 'ewt_train_sample.conllu'}; "
        "skipped 11 multiword-token ranges and 1 empty node"
    )
    assert train.sentences[0].line == 1 and train.sentences[1].line == len(train.sentences[0].source) + 2


def test_multiword_tokens_give_their_words(data_dir):
    corpus = read_tagged(data_dir / "ewt_train_sample.conllu")
    sentence = next(s for s in corpus.sentences if any("\tdon't\t" in line for line in s.source))
    assert "don't" not in sentence.tokens
    at = sentence.tokens.index("do")
    assert sentence.tokens[at + 1] == "n't" and sentence.tags[at : at + 2] == ["AUX", "PART"]


def test_empty_nodes_and_ranges_are_skipped_and_counted(tmp_path):
    text = (
        "# text = They went and we too\n"
        + WORD.format(id=1, form="They", upos="PRON")
        + "\n"
        + WORD.format(id=2, form="went", upos="VERB")
        + "\n"
        + WORD.format(id=3, form="and", upos="CCONJ")
        + "\n"
        + WORD.format(id=4, form="we", upos="PRON")
        + "\n4.1\twent\tgo\tVERB\t_\t_\t_\t_\t2:conj\tCopyOf=2\n"
        + "5-6\ttoo.\t_\t_\t_\t_\t_\t_\t_\t_\n"
        + WORD.format(id=5, form="too", upos="ADV")
        + "\n"
        + WORD.format(id=6, form=".", upos="PUNCT")
        + "\n\n"
    )
    corpus = read_tagged(write(tmp_path / "e.conllu", text))
    assert corpus.tokens == [["They", "went", "and", "we", "too", "."]]
    assert corpus.skipped == {"multiword-token ranges": 1, "empty nodes": 1}
    write_tagged(corpus, corpus.tags, tmp_path / "out.conllu")
    assert (tmp_path / "out.conllu").read_text(encoding="utf-8") == text


def test_tag_column_by_name_or_number(data_dir):
    text = (data_dir / "ewt_dev_sample.conllu").read_text(encoding="utf-8")
    xpos = read_tagged(data_dir / "ewt_dev_sample.conllu", tag_column="xpos")
    assert xpos.tag_column == "xpos" and [t for tags in xpos.tags for t in tags] == [c[4] for c in word_lines(text)]
    deprel = read_tagged(data_dir / "ewt_dev_sample.conllu", tag_column="DEPREL")
    assert [t for tags in deprel.tags for t in tags] == [c[7] for c in word_lines(text)]
    assert read_tagged(data_dir / "ewt_dev_sample.conllu", tag_column=5).tags == xpos.tags
    for bad in ("form", "id", "pos", 1):
        with pytest.raises(DataError, match="tag column"):
            read_tagged(data_dir / "ewt_dev_sample.conllu", tag_column=bad)


def test_conllu_and_tsv_versions_agree(data_dir):
    conllu_corpus = read_tagged(data_dir / "ewt_dev_sample.conllu")
    tsv = read_tagged(data_dir / "ewt_dev_sample.tsv")
    assert tsv.format == "tokens" and tsv.columns == 2 and tsv.tag_column == "2"
    assert tsv.tokens == conllu_corpus.tokens and tsv.tags == conllu_corpus.tags


@pytest.mark.parametrize("name", ["ewt_train_sample.conllu", "ewt_dev_sample.tsv", "conll2003_style.txt"])
def test_round_trip_is_byte_exact(data_dir, tmp_path, name):
    corpus = read_tagged(data_dir / name)
    out = tmp_path / name
    write_tagged(corpus, corpus.tags, out)
    original = (data_dir / name).read_bytes()
    if name.startswith("conll2003"):
        original = original.replace(b"-DOCSTART- -X- -X- O\n\n", b"")  # document separators are not written
    assert out.read_bytes() == original
    assert read_tagged(out).tags == corpus.tags


def test_gzip_conllu(data_dir, tmp_path):
    path = write(tmp_path / "d.conllu.gz", gzip.compress((data_dir / "ewt_dev_sample.conllu").read_bytes()))
    assert detect_tagged_format(path) == "conllu" and is_tagged_file(path)
    assert read_tagged(path).tokens == read_tagged(data_dir / "ewt_dev_sample.conllu").tokens


def test_untagged_files_are_prediction_input_and_get_tags_written(tmp_path):
    untagged = write(tmp_path / "u.conllu", "# sent_id = 1\n" + conllu([("Hi", "_"), ("!", "_")]))
    with pytest.raises(DataError, match=r"u\.conllu: has no tags in column upos"):
        read_tagged(untagged)
    corpus = read_tagged(untagged, require_tags=False)
    assert corpus.tags is None and not corpus.has_tags and "no tags" in corpus.summary()
    write_tagged(corpus, [["INTJ", "PUNCT"]], tmp_path / "t.conllu")
    assert (tmp_path / "t.conllu").read_text(encoding="utf-8") == "# sent_id = 1\n" + conllu(
        [("Hi", "INTJ"), ("!", "PUNCT")]
    )
    tokens = read_tagged(write(tmp_path / "u.txt", "Hi\n!\n\nBye\n"), require_tags=False)
    assert tokens.columns == 1 and tokens.tags is None
    write_tagged(tokens, [["INTJ", "PUNCT"], ["INTJ"]], tmp_path / "t.tsv")
    assert (tmp_path / "t.tsv").read_text(encoding="utf-8") == "Hi\tINTJ\n!\tPUNCT\n\nBye\tINTJ\n"
    with pytest.raises(DataError, match=r"u\.txt: has no tags in column 2"):
        read_tagged(tmp_path / "u.txt")


def test_typed_sentences_are_written_in_either_format(tmp_path):
    corpus = tagged_from_tokens([["I", "ran"], ["Go"]])
    assert isinstance(corpus, TaggedCorpus) and corpus.tokens == [["I", "ran"], ["Go"]] and not corpus.has_tags
    write_tagged(corpus, [["PRON", "VERB"], ["VERB"]], tmp_path / "p.tsv")
    assert (tmp_path / "p.tsv").read_text(encoding="utf-8") == "I\tPRON\nran\tVERB\n\nGo\tVERB\n"
    write_tagged(corpus, [["PRON", "VERB"], ["VERB"]], tmp_path / "p.conllu", format="conllu")
    back = read_tagged(tmp_path / "p.conllu")
    assert back.tokens == corpus.tokens and back.tags == [["PRON", "VERB"], ["VERB"]]
    assert back.sentences[0].source[0] == "# text = I ran"
    with pytest.raises(DataError, match="sentence 2"):
        tagged_from_tokens([["a"], ["b c"]])


def test_conll2003_style(data_dir):
    path = data_dir / "conll2003_style.txt"
    ner = read_tagged(path)
    assert ner.skipped == {"-DOCSTART- lines": 1} and ner.columns == 4 and ner.tag_column == "4"
    assert ner.sentences[0].line == 3 and ner.tokens[0][:2] == ["Maria", "Lopez"]
    assert ner.tags[0][:4] == ["B-PER", "I-PER", "O", "B-LOC"]
    assert "skipped 1 -DOCSTART- line" in ner.summary()
    assert read_tagged(path, tag_column=2).tags[0][:3] == ["NNP", "NNP", "VBD"]
    assert read_tagged(path, tag_column="3").tags[0][:3] == ["B-NP", "I-NP", "B-VP"]
    with pytest.raises(DataError, match=r"line 3: tag column 5, but the lines have 4 columns"):
        read_tagged(path, tag_column=5)
    with pytest.raises(DataError, match="column names are for CoNLL-U"):
        read_tagged(path, tag_column="upos")


def test_writing_other_tags_changes_only_the_tag_column(data_dir, tmp_path):
    corpus = read_tagged(data_dir / "conll2003_style.txt")
    write_tagged(corpus, [["X"] * len(s) for s in corpus.tokens], tmp_path / "x.txt")
    assert (tmp_path / "x.txt").read_text(encoding="utf-8").split("\n")[:2] == ["Maria NNP B-NP X", "Lopez NNP I-NP X"]


BAD_CONLLU = {
    "9 columns": (conllu([("a", "X")]).replace("\t_\t_\n", "\t_\n", 1), "line 1: 9 tab-separated columns"),
    "id out of sequence": (conllu([("a", "X"), ("b", "X")]).replace("2\tb", "3\tb"), "line 2: word id '3'"),
    "only comments": ("# newdoc\n# sent_id = 1\n", "no sentences"),
    "mixed tags": (conllu([("a", "X")], [("b", "_"), ("c", "_")]), r"line 3: no upos tag \(_\)"),
    "empty form": (conllu([("a", "X")]).replace("1\ta\t", "1\t\t"), "line 1: an empty FORM"),
    "comment inside": (conllu([("a", "X"), ("b", "X")]).replace("\n2\t", "\n# x\n2\t"), "line 2: a comment line"),
    "comments alone": ("# a\n\n" + conllu([("a", "X")]), "line 1: lines with no word line"),
    "nul byte": (conllu([("a", "X"), ("b\x00", "X")]), "line 2: a NUL byte"),
}
BAD_TOKENS = {
    "3 columns among 2": ("a\tX\nb\tX\tY\n", "line 2: 3 columns where line 1 has 2"),
    "token with a space": ("New York\tPROPN\n", "line 1: token 'New York' is empty or holds a space"),
    "empty token": ("\tX\n", "line 1: token '' is empty"),
    "empty tag": ("a\tX\n\nb\t\n", "line 3: tag '' .column 2. is empty"),
    "only -DOCSTART-": ("-DOCSTART- -X- O\n\n", "no sentences"),
}


@pytest.mark.parametrize(
    "suffix, text, message",
    [(".conllu", *v) for v in BAD_CONLLU.values()] + [(".tsv", *v) for v in BAD_TOKENS.values()],
    ids=list(BAD_CONLLU) + list(BAD_TOKENS),
)
def test_bad_files_name_the_file_and_line(tmp_path, suffix, text, message):
    path = write(tmp_path / f"bad{suffix}", text)
    with pytest.raises(DataError, match=re.escape(str(path)) + ".*" + message) as error:
        read_tagged(path)
    assert "\n" not in str(error.value)


def test_forms_with_spaces_are_legal_in_conllu(tmp_path):
    corpus = read_tagged(write(tmp_path / "s.conllu", conllu([("New York", "PROPN")])))
    assert corpus.tokens == [["New York"]]


def test_empty_and_undecodable_files(tmp_path):
    with pytest.raises(DataError, match="e.conllu: the file is empty"):
        read_tagged(write(tmp_path / "e.conllu", "\n\n"))
    with pytest.raises(DataError, match="b.tsv line 2: not valid UTF-8"):
        read_tagged(write(tmp_path / "b.tsv", b"a\tX\n\xff\tX\n"))


def test_write_refuses_to_overwrite_and_wrong_lengths(data_dir, tmp_path):
    corpus = read_tagged(data_dir / "ewt_dev_sample.tsv")
    out = write(tmp_path / "out.tsv", "keep me\n")
    with pytest.raises(DataError, match=r"out\.tsv: exists; pass overwrite"):
        write_tagged(corpus, corpus.tags, out)
    assert out.read_text(encoding="utf-8") == "keep me\n"
    write_tagged(corpus, corpus.tags, out, overwrite=True)
    assert out.read_bytes() == (data_dir / "ewt_dev_sample.tsv").read_bytes()
    short = [list(tags) for tags in corpus.tags]
    short[1].pop()
    line = corpus.sentences[1].line
    with pytest.raises(DataError, match=f"line {line}: {len(short[1])} tags for a sentence of {len(short[1]) + 1}"):
        write_tagged(corpus, short, tmp_path / "new.tsv")
    with pytest.raises(DataError, match="99 tag lists for the 100 sentences"):
        write_tagged(corpus, corpus.tags[:-1], tmp_path / "new.tsv")
    with pytest.raises(DataError, match="tags hold no spaces"):
        write_tagged(corpus, [["A B"] * len(t) for t in corpus.tokens], tmp_path / "new.tsv")
    assert not (tmp_path / "new.tsv").exists()
