"""``CharTokenizer(keep_whitespace=True)``: every character of a text is a token, as it is."""

import json

import pytest

from rnnkit.data.corpus import detokenize, read_corpus
from rnnkit.modeldir import tokenizer_from_settings
from rnnkit.text import CharTokenizer, WordTokenizer, tokenizer_from_dict

TEXT = "First Line\r\n\tIndented  twice\n\nÜber café — 東京 🙂\u2028end\r"


def test_every_character_is_a_token_and_round_trips_through_a_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_bytes(TEXT.encode("utf-8"))
    text = read_corpus(path)
    tokens = CharTokenizer(lowercase=False, keep_whitespace=True)(text)
    assert len(tokens) == len(TEXT)
    assert "\r" in tokens and "\t" in tokens and "\u2028" in tokens and "F" in tokens
    assert detokenize(tokens, "char") == TEXT


def test_default_still_lowercases_and_folds_whitespace():
    assert CharTokenizer()("A \t\n b") == ["a", " ", "b"]
    assert CharTokenizer(keep_whitespace=True)("A \tB") == ["a", " ", "\t", "b"]  # lowercase is separate


def test_settings_round_trip_and_old_settings_load():
    tokenizer = CharTokenizer(lowercase=False, keep_whitespace=True)
    assert tokenizer.to_dict() == {"kind": "char", "lowercase": False, "keep_whitespace": True}
    again = tokenizer_from_dict(json.loads(json.dumps(tokenizer.to_dict())))
    assert isinstance(again, CharTokenizer) and again.keep_whitespace and not again.lowercase
    old = tokenizer_from_dict({"kind": "char", "lowercase": True})  # written before the setting existed
    assert old.keep_whitespace is False and old("A  b") == ["a", " ", "b"]
    assert tokenizer_from_settings({"kind": "char", "keep_whitespace": True}).keep_whitespace  # the model directory
    assert isinstance(tokenizer_from_dict({"kind": "word", "keep_whitespace": False}), WordTokenizer)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"kind": "char", "keep_whitespace": "yes"}, "'keep_whitespace' must be true or false"),
        ({"kind": "char", "keep_whitespace": 1}, "'keep_whitespace' must be true or false"),
        ({"kind": "word", "keep_whitespace": True}, "character tokenizers only"),
    ],
)
def test_bad_keep_whitespace_is_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        tokenizer_from_dict(settings)
