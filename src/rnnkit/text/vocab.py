"""``Vocab``: tokens to ids and back, with distinct ``<pad>`` (0) and ``<unk>`` (1).

The lesson's helper used 0 for both padding and unknown words, so a rare word looked like padding. Here padding
is 0 and is never produced for a real token; every token outside the vocabulary maps to ``<unk>``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1


class Vocab:
    """An ordered list of tokens; ids are positions. Build with :meth:`build`, save with :meth:`to_dict`."""

    def __init__(self, tokens: list[str]) -> None:
        if tokens[:2] != [PAD, UNK]:
            raise ValueError(f"a vocabulary must start with {PAD!r} and {UNK!r}, got {tokens[:2]!r}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("a vocabulary must not list a token twice")
        self.tokens = tokens
        self.index = {token: i for i, token in enumerate(tokens)}

    @classmethod
    def build(cls, texts: Iterable[list[str]], min_freq: int = 1, max_size: int | None = None) -> Vocab:
        """Count tokens; keep those seen at least ``min_freq`` times, most frequent first (ties alphabetical),
        at most ``max_size`` entries including the two specials."""
        if min_freq < 1:
            raise ValueError(f"min_freq must be at least 1, got {min_freq}")
        if max_size is not None and max_size < 2:
            raise ValueError(f"max_size must be at least 2 (room for {PAD} and {UNK}), got {max_size}")
        counts = Counter(token for tokens in texts for token in tokens)
        counts.pop(PAD, None)
        counts.pop(UNK, None)
        kept = sorted((t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max_size - 2]
        return cls([PAD, UNK, *kept])

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def encode(self, tokens: list[str]) -> list[int]:
        get = self.index.get
        return [get(token, UNK_ID) for token in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[i] for i in ids]

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens}

    @classmethod
    def from_dict(cls, data: Any) -> Vocab:
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ValueError("a vocabulary file must hold {'tokens': [strings]}")
        return cls(tokens)
