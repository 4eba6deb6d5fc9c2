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

    With ``keep_whitespace=True`` (and ``lowercase=False``) every character of the text is a token, as it is:
    case, spaces, tabs and line breaks, ``"\\r\\n"`` as two tokens. This is what a character language model
    reads, so that the text it writes keeps its lines and layout; a classifier is better served by the folding.

    >>> CharTokenizer(lowercase=False, keep_whitespace=True)("Hi\\n  you")
    ['H', 'i', '\\n', ' ', ' ', 'y', 'o', 'u']
    """

    kind = "char"

    def __init__(self, lowercase: bool = True, keep_whitespace: bool = False) -> None:
        super().__init__(lowercase)
        self.keep_whitespace = keep_whitespace

    def split(self, text: str) -> list[str]:
        return list(text if self.keep_whitespace else " ".join(text.split()))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "keep_whitespace": self.keep_whitespace}


TOKENIZERS = {"word": WordTokenizer, "char": CharTokenizer}
Tokenizer = WordTokenizer | CharTokenizer


def tokenizer_from_dict(settings: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from :meth:`to_dict` output; refuse kinds and settings we do not know.

    Settings written before a setting existed take its default (``keep_whitespace``: false).
    """
    kind = settings.get("kind")
    if kind not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer kind {kind!r}; expected one of {sorted(TOKENIZERS)}")
    flags = {"lowercase": settings.get("lowercase", True), "keep_whitespace": settings.get("keep_whitespace", False)}
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise ValueError(f"tokenizer setting {name!r} must be true or false, got {value!r}")
    if kind == "char":
        return CharTokenizer(**flags)
    if flags["keep_whitespace"]:
        raise ValueError("tokenizer setting 'keep_whitespace' applies to character tokenizers only")
    return WordTokenizer(lowercase=flags["lowercase"])
