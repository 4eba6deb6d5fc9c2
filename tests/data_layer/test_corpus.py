"""Running text for language models: reading, tokens with line ends, streams and windows."""

import gzip
import subprocess
import sys

import pytest
import torch

from rnnkit.data.corpus import EOL, batchify, corpus_tokens, detokenize, read_corpus, windows
from rnnkit.errors import DataError
from rnnkit.text import CharTokenizer, WordTokenizer


def test_files_are_joined_in_order_as_they_are(tmp_path):
    (tmp_path / "a.txt").write_text("one\ntwo", encoding="utf-8")  # no final line break: none is added
    (tmp_path / "b.txt.gz").write_bytes(gzip.compress(b"three\n"))
    assert read_corpus([tmp_path / "a.txt", tmp_path / "b.txt.gz"]) == "one\ntwothree\n"
    assert read_corpus(str(tmp_path / "a.txt")) == "one\ntwo"
    with pytest.raises(DataError, match="no corpus files"):
        read_corpus([])
    with pytest.raises(DataError, match="no such file"):
        read_corpus([tmp_path / "missing.txt"])


def test_word_corpus_keeps_its_lines():
    text = "The cat sat.\n\nIt purred , twice\n"
    tokens = corpus_tokens(text, WordTokenizer(lowercase=False))
    assert tokens.count(EOL) == 3
    assert tokens[:5] == ["The", "cat", "sat", ".", EOL]
    back = detokenize(tokens, "word")
    assert back.split("\n")[:3] == ["The cat sat .", "", "It purred , twice"]
    assert corpus_tokens(back, WordTokenizer(lowercase=False)) == tokens  # lines and tokens survive
    assert "<eol>" not in WordTokenizer()("a <eol> b")  # text can never forge the line end


def test_char_corpus_is_the_tokenizers_tokens():
    text = "Ab\n c"
    assert corpus_tokens(text, CharTokenizer(lowercase=False, keep_whitespace=True)) == list(text)
    assert detokenize(corpus_tokens(text, CharTokenizer(lowercase=False, keep_whitespace=True)), "char") == text
    with pytest.raises(ValueError, match="kind"):
        detokenize(["a"], "bpe")


def test_batchify_cuts_parallel_streams_and_drops_the_remainder():
    ids = torch.arange(26)
    streams = batchify(ids, 4)
    assert streams.shape == (4, 6) and streams.dtype == torch.int64
    assert streams[1].tolist() == list(range(6, 12))  # row b is the b-th contiguous piece
    assert streams.flatten().tolist() == list(range(24))
    with pytest.raises(DataError, match="too few"):
        batchify(torch.arange(7), 4)
    with pytest.raises(ValueError, match="1-D integer"):
        batchify(torch.zeros(10), 2)
    with pytest.raises(ValueError, match="batch_size"):
        batchify(ids, 0)


@pytest.mark.parametrize(("steps", "window"), [(6, 2), (6, 4), (7, 3), (2, 5), (10, 1)])
def test_windows_shift_by_one_and_cover_every_target_once(steps, window):
    streams = torch.arange(3 * steps).view(3, steps)
    pairs = windows(streams, window)
    for i, (inputs, targets) in enumerate(pairs):
        assert inputs.shape == targets.shape and inputs.shape[0] == 3
        assert inputs.shape[1] == window or i == len(pairs) - 1
        assert torch.equal(targets, inputs + 1)  # the next token of the same stream
    targets = torch.cat([t for _, t in pairs], dim=1)
    assert torch.equal(targets, streams[:, 1:])  # each token but a stream's first is a target exactly once
    inputs = torch.cat([x for x, _ in pairs], dim=1)
    assert torch.equal(inputs, streams[:, :-1])  # in order: window k+1 continues window k


def test_bad_windows_are_refused():
    with pytest.raises(ValueError, match="window"):
        windows(torch.zeros(2, 5, dtype=torch.long), 0)
    with pytest.raises(ValueError, match="streams"):
        windows(torch.zeros(5, dtype=torch.long), 2)


def test_reading_a_corpus_needs_no_torch(tmp_path):
    (tmp_path / "a.txt").write_text("hi\n", encoding="utf-8")
    code = (
        "import sys, rnnkit.data; from rnnkit.data.corpus import read_corpus, corpus_tokens; "
        "from rnnkit.text import WordTokenizer; "
        f"corpus_tokens(read_corpus({str(tmp_path / 'a.txt')!r}), WordTokenizer()); "
        "import rnnkit.tasks.lm.sampling; assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
