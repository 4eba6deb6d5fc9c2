import json

import pytest

from rnnkit.text import PAD_ID, UNK_ID, CharTokenizer, Vocab, WordTokenizer, tokenizer_from_dict


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Stocks fell 3.5% -- don't panic!", ["stocks", "fell", "3.5", "%", "-", "-", "don't", "panic", "!"]),
        ("Über-Café, 1,000 Gäste.", ["über", "-", "café", ",", "1,000", "gäste", "."]),
        ("What is the U.S. GDP?", ["what", "is", "the", "u", ".", "s", ".", "gdp", "?"]),
        ("  spaced\tout\n", ["spaced", "out"]),
        ("", []),
    ],
)
def test_word_tokenizer(text, tokens):
    assert WordTokenizer()(text) == tokens


def test_word_tokenizer_keeps_case_when_asked():
    assert WordTokenizer(lowercase=False)("The Cat") == ["The", "Cat"]


def test_char_tokenizer_folds_whitespace():
    assert CharTokenizer()("A  b") == ["a", " ", "b"]


def test_tokenizer_settings_round_trip():
    for tokenizer in (WordTokenizer(lowercase=False), CharTokenizer()):
        again = tokenizer_from_dict(json.loads(json.dumps(tokenizer.to_dict())))
        assert type(again) is type(tokenizer) and again.lowercase == tokenizer.lowercase
    with pytest.raises(ValueError, match="unknown tokenizer kind"):
        tokenizer_from_dict({"kind": "bpe"})
    with pytest.raises(ValueError, match="lowercase"):
        tokenizer_from_dict({"kind": "word", "lowercase": "yes"})


def test_vocab_specials_are_distinct_and_unknowns_map_to_unk():
    vocab = Vocab.build([["b", "a", "b"], ["c", "b", "a"]])
    assert vocab.tokens == ["<pad>", "<unk>", "b", "a", "c"]  # by frequency, ties alphabetical
    assert PAD_ID != UNK_ID
    assert vocab.encode(["a", "zebra"]) == [3, UNK_ID]
    assert vocab.decode([2, 3]) == ["b", "a"]


def test_vocab_min_freq_and_max_size():
    texts = [["a"] * 5 + ["b"] * 3 + ["c"] * 1]
    assert Vocab.build(texts, min_freq=2).tokens[2:] == ["a", "b"]
    assert Vocab.build(texts, max_size=3).tokens == ["<pad>", "<unk>", "a"]
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build(texts, min_freq=0)
    with pytest.raises(ValueError, match="max_size"):
        Vocab.build(texts, max_size=1)


def test_vocab_never_gives_a_real_token_the_pad_id():
    vocab = Vocab.build([["<pad>", "<unk>", "x"]])
    assert vocab.encode(["x"]) == [2]
    assert len(vocab) == 3


def test_vocab_json_round_trip_and_bad_files():
    vocab = Vocab.build([["ä", "b"]])
    again = Vocab.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert again.tokens == vocab.tokens
    with pytest.raises(ValueError, match="must start with"):
        Vocab(["a", "b"])
    with pytest.raises(ValueError, match="twice"):
        Vocab(["<pad>", "<unk>", "a", "a"])
    with pytest.raises(ValueError, match="tokens"):
        Vocab.from_dict({"words": []})
