"""A language model's settings, as plain data saved in ``config.json``: the body, run forwards, and a decoder at
every step, tied to the embedding. No torch."""

from __future__ import annotations

from dataclasses import dataclass

from rnnkit.models.config import Settings, body_checks, body_shapes, check, subword_checks
from rnnkit.text.subwords import MAX_N, MIN_N


@dataclass
class LanguageModelConfig(Settings):
    """A recurrent language model: the shared body, run forwards only, and a decoder at every step that gives the
    next token's scores. With ``tie_weights`` the decoder is the embedding matrix itself (Press & Wolf 2017), through
    a ``projection`` from ``hidden_size`` to ``embedding_dim`` when the two differ."""

    vocab_size: int
    cell: str = "lstm"
    embedding_dim: int = 256
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.2  # on the embeddings, between layers and before the decoder, in training only
    weight_drop: float = 0.0  # DropConnect on the hidden-to-hidden matrices (AWD-LSTM), in training only
    tie_weights: bool = True
    backend: str = "fused"
    subwords: int = 0  # hash buckets of its vocabulary's character n-grams, added to the embeddings; 0: none
    ngram_min: int = MIN_N
    ngram_max: int = MAX_N

    def __post_init__(self) -> None:
        check(
            [
                *body_checks(self),
                *subword_checks(self),
                (0.0 <= self.weight_drop < 1.0, f"weight_drop must be in [0, 1), got {self.weight_drop}"),
            ]
        )

    @property
    def projected(self) -> bool:
        """Whether a projection maps the top layer's outputs to the embedding size for the tied decoder."""
        return self.tie_weights and self.hidden_size != self.embedding_dim

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """The body's weights (forwards), the projection to the embedding size where tied, and the decoder's."""
        c = self
        shapes = body_shapes(c.vocab_size, c.embedding_dim, c.cell, c.hidden_size, c.num_layers, 1, subwords=c.subwords)
        if c.projected:
            shapes["projection.weight"] = (c.embedding_dim, c.hidden_size)
        if not c.tie_weights:
            shapes["decoder.weight"] = (c.vocab_size, c.hidden_size)
        shapes["decoder.bias"] = (c.vocab_size,)
        return shapes
