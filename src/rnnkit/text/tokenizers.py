"""Tokenizers: text in, a list of string tokens out. Settings round-trip through JSON with the model."""

from __future__ import annotations

import re
from typing import Any

# Order matters: numbers with separators first ("1,000", "3.5"), then words with inner apostrophes
# ("don't", "o'clock", "l'homme"), then any other single non-space character (punctuation, symbols).
WORD_PATTERN = re.compile(r"\d+(?:[.,]\d+)+|\w+(?:['’]\w+)*|[^\w\s]")


class _Tokenizer:
    """A tokenizer is a function of the text and its settings; the settings are saved with the model."""

    kind: str

    def __init__(self, lowercase: bool = True) -> None:
        self.lowercase = lowercase

    def __call__(self, text: str) -> list[str]:
        return self.split(text.lower() if self.lowercase else text)

    def split(self, text: str) -> list[str]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "lowercase": self.lowercase}


class WordTokenizer(_Tokenizer):
    """Unicode-aware word tokenizer: splits words from punctuation, keeps numbers and inner apostrophes.

    >>> WordTokenizer()("Stocks fell 3.5% -- don't panic!")
    ['stocks', 'fell', '3.5', '%', '-', '-', "don't", 'panic', '!']
    """

    kind = "word"

    def split(self, text: str) -> list[str]:
        return WORD_PATTERN.findall(text)


class CharTokenizer(_Tokenizer):
    """Every character is a token, except that a run of whitespace becomes one space.

    >>> CharTokenizer()("Hi  there")
    ['h', 'i', ' ', 't', 'h', 'e', 'r', 'e']
    """

    kind = "char"

    def split(self, text: str) -> list[str]:
        return list(" ".join(text.split()))


TOKENIZERS = {"word": WordTokenizer, "char": CharTokenizer}
Tokenizer = WordTokenizer | CharTokenizer


def tokenizer_from_dict(settings: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from :meth:`to_dict` output; refuse kinds and settings we do not know."""
    kind = settings.get("kind")
    if kind not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer kind {kind!r}; expected one of {sorted(TOKENIZERS)}")
    lowercase = settings.get("lowercase", True)
    if not isinstance(lowercase, bool):
        raise ValueError(f"tokenizer setting 'lowercase' must be true or false, got {lowercase!r}")
    return TOKENIZERS[kind](lowercase=lowercase)
