"""Tokenizers: text in, a list of string tokens out. Settings round-trip through JSON with the model."""

from __future__ import annotations

import re
from typing import Any

# Order matters: numbers with separators first ("1,000", "3.5"), then words with inner apostrophes
# ("don't", "o'clock", "l'homme"), then any other single non-space character (punctuation, symbols).
WORD_PATTERN = re.compile(r"\d+(?:[.,]\d+)+|\w+(?:['’]\w+)*|[^\w\s]")


class WordTokenizer:
    """Unicode-aware word tokenizer: splits words from punctuation, keeps numbers and inner apostrophes.

    >>> WordTokenizer()("Stocks fell 3.5% -- don't panic!")
    ['stocks', 'fell', '3.5', '%', '-', '-', "don't", 'panic', '!']
    """

    kind = "word"

    def __init__(self, lowercase: bool = True) -> None:
        self.lowercase = lowercase

    def __call__(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        return WORD_PATTERN.findall(text)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "lowercase": self.lowercase}


class CharTokenizer:
    """Every character but whitespace runs is a token; a run of whitespace becomes one space.

    >>> CharTokenizer()("Hi  there")
    ['h', 'i', ' ', 't', 'h', 'e', 'r', 'e']
    """

    kind = "char"

    def __init__(self, lowercase: bool = True) -> None:
        self.lowercase = lowercase

    def __call__(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        return list(" ".join(text.split()))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "lowercase": self.lowercase}


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
