"""A sequence tagger's settings, as plain data saved in ``config.json``: the body, bidirectional, with a character
encoder, a tag score at every token and, optionally, a CRF. No torch."""

from __future__ import annotations

from dataclasses import dataclass

from rnnkit.models.config import Settings, body_checks, body_shapes, check, subword_checks
from rnnkit.text.subwords import MAX_N, MIN_N


@dataclass
class TaggerConfig(Settings):
    """A sequence tagger: the shared body, bidirectional, with each word's spelling read by a character encoder
    (``alphabet_size`` > 0) beside its embedding, and a linear layer at every token giving each tag's score; with
    ``crf`` a conditional random field scores whole tag sequences on top of those scores."""

    vocab_size: int
    num_tags: int
    alphabet_size: int = 0  # distinct characters (with <pad> and <unk>); 0: no character encoder
    cell: str = "lstm"
    embedding_dim: int = 100
    char_embedding_dim: int = 32
    char_hidden_size: int = 64
    hidden_size: int = 200
    num_layers: int = 2
    bidirectional: bool = True
    dropout: float = 0.33  # on the joined word vectors, between layers and before the output, in training only
    word_dropout: float = 0.0  # in training, this share of the words is replaced by <unk> (the spelling is kept)
    lowercase: bool = True  # the word embedding's key; the character encoder always sees the case
    crf: bool = False
    backend: str = "fused"
    subwords: int = 0  # hash buckets of the words' character n-grams, added to their embeddings; 0: none
    ngram_min: int = MIN_N
    ngram_max: int = MAX_N

    def __post_init__(self) -> None:
        check(
            [
                *body_checks(self),
                *subword_checks(self),
                (self.num_tags >= 2, f"num_tags must be at least 2, got {self.num_tags}"),
                (
                    self.alphabet_size == 0 or self.alphabet_size >= 2,
                    f"alphabet_size must be 0 (no characters) or at least 2, got {self.alphabet_size}",
                ),
                (self.char_embedding_dim >= 1, f"char_embedding_dim must be positive, got {self.char_embedding_dim}"),
                (self.char_hidden_size >= 1, f"char_hidden_size must be positive, got {self.char_hidden_size}"),
                (0.0 <= self.word_dropout < 1.0, f"word_dropout must be in [0, 1), got {self.word_dropout}"),
            ]
        )

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def label_count(self) -> int:
        return self.num_tags

    def vocabulary_sizes(self) -> dict[str, int]:
        """The words', and the characters' where it reads them."""
        return {"tokens": self.vocab_size, **({"characters": self.alphabet_size} if self.alphabet_size else {})}

    @property
    def characters(self) -> tuple[int, int, int] | None:
        """The character encoder's sizes (alphabet, embedding, hidden), or ``None`` without one."""
        return (self.alphabet_size, self.char_embedding_dim, self.char_hidden_size) if self.alphabet_size else None

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """The body's weights (with the character encoder's), the output layer's and the CRF's."""
        c = self
        shapes = body_shapes(
            c.vocab_size, c.embedding_dim, c.cell, c.hidden_size, c.num_layers, c.directions, c.characters, c.subwords
        )
        shapes["output.weight"] = (c.num_tags, c.hidden_size * c.directions)
        shapes["output.bias"] = (c.num_tags,)
        if c.crf:
            shapes["crf.transitions"] = (c.num_tags, c.num_tags)
            shapes["crf.start_transitions"] = (c.num_tags,)
            shapes["crf.end_transitions"] = (c.num_tags,)
        return shapes
