"""Hashed character n-grams (fastText's way): the n-grams of a word counted by hand, the buckets the same in every
process and under every Python hash seed, and a batch's table holding each distinct word once."""

import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

from rnnkit.text.subwords import Subwords, batch_spellings


def test_the_ngrams_of_a_word_are_its_marked_substrings_of_three_to_six_characters():
    pieces = ["<ba", "<bad", "<bad>", "bad", "bad>", "ad>"]  # "<bad>": by position, then by length
    expected = [zlib.crc32(p.encode()) % 1000 + 1 for p in pieces]
    assert Subwords(1000)("bad") == expected
    assert Subwords(1000)("a") == [zlib.crc32(b"<a>") % 1000 + 1]  # shorter than 3 with its marks: itself
    assert len(Subwords(1000)("unbelievable")) == 12 + 11 + 10 + 9  # 14 characters with its marks
    assert all(1 <= b <= 7 for b in Subwords(7)("héllo wörld"))  # UTF-8 bytes hashed; ids 1..buckets


def test_a_long_word_is_read_by_its_first_and_last_twelve_characters():
    long = "a" * 12 + "x" * 30 + "b" * 12
    assert Subwords(50_000)(long) == Subwords(50_000)("a" * 12 + "b" * 12)


@pytest.mark.parametrize("seed", ["0", "1", "12345"])
def test_the_buckets_are_the_same_in_every_process_whatever_the_python_hash_seed(seed):
    words = ["unbelievable", "Straße", "don't", "x"]
    code = f"from rnnkit.text.subwords import Subwords; s = Subwords(100_000); print([s(w) for w in {words!r}])"
    env = dict(os.environ, PYTHONHASHSEED=seed)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    here = Subwords(100_000)
    assert out.strip() == str([here(w) for w in words])


def test_the_remembered_words_stay_bounded(monkeypatch):
    import rnnkit.text.subwords as module

    monkeypatch.setattr(module, "CACHE_WORDS", 10)
    subwords = Subwords(100)
    first = subwords("word0")
    for i in range(25):
        subwords(f"word{i}")
    assert len(subwords._cache) <= 10 and subwords("word0") == first  # forgotten, and found again the same


def test_a_table_spells_each_distinct_token_once_and_row_zero_is_nothing():
    tokens = ["the", "cat", "the", "sat"]
    forms, ngrams = Subwords(100).table(tokens)
    assert forms.tolist() == [1, 2, 1, 3] and ngrams.shape[0] == 4
    assert (ngrams[0] == 0).all()
    for row, token in zip(forms, tokens, strict=True):
        buckets = ngrams[row][ngrams[row] > 0].tolist()
        assert buckets == Subwords(100)(token)


def test_a_batch_keeps_its_own_rows_no_wider_than_its_longest():
    _, ngrams = Subwords(100).table(["a", "unbelievable", "cat"])
    forms = np.array([[1, 3, 0], [3, 0, 0]])  # "a", "cat" and padding: "unbelievable" is not in this batch
    batch_forms, batch_ngrams = batch_spellings(forms, ngrams)
    assert batch_ngrams.shape == (3, 6)  # the padding's, "a"'s (1 n-gram) and "cat"'s (6: "<cat>" has 3 + 2 + 1)
    assert batch_ngrams[batch_forms].tolist() == ngrams[forms][:, :, :6].tolist()
