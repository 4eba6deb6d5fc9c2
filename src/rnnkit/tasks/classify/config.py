"""A text classifier's settings, as plain data saved in ``config.json``: the body, the pooling, the classes, and how
many networks an ensemble averages. No torch: a saved classifier is checked, and run by onnxruntime, without it."""

from __future__ import annotations

from dataclasses import dataclass

from rnnkit.models.config import Settings, body_checks, body_shapes, check, subword_checks
from rnnkit.options import CHOICES
from rnnkit.text.subwords import MAX_N, MIN_N

MODELS = CHOICES["model"]
MAX_MEMBERS = 16


@dataclass
class ClassifierConfig(Settings):
    """Everything needed to rebuild the network; saved as JSON beside its weights."""

    vocab_size: int
    num_classes: int
    model: str = "rnn"
    cell: str = "lstm"
    embedding_dim: int = 128
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = True
    pooling: str = "max"
    dropout: float = 0.5
    word_dropout: float = 0.0  # in training, this share of the tokens is replaced by <unk>
    backend: str = "fused"
    members: int = 1  # networks trained from different seeds whose probabilities are averaged
    subwords: int = 0  # hash buckets of the words' character n-grams, added to their embeddings; 0: none
    ngram_min: int = MIN_N  # the n-grams' sizes, in characters (rnnkit.text.subwords)
    ngram_max: int = MAX_N

    def __post_init__(self) -> None:
        check(
            [
                (self.model in MODELS, f"model must be one of {MODELS}, got {self.model!r}"),
                (
                    self.pooling in CHOICES["pooling"],
                    f"pooling must be one of {CHOICES['pooling']}, got {self.pooling!r}",
                ),
                *body_checks(self),
                (self.num_classes >= 2, f"num_classes must be at least 2, got {self.num_classes}"),
                (0.0 <= self.word_dropout < 1.0, f"word_dropout must be in [0, 1), got {self.word_dropout}"),
                (1 <= self.members <= MAX_MEMBERS, f"members must be in 1..{MAX_MEMBERS}, got {self.members}"),
                *subword_checks(self),
                (
                    self.subwords == 0 or self.model == "rnn",
                    "sub-words are read by the recurrent body (--model rnn), not by the bag of embeddings",
                ),
            ]
        )

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def label_count(self) -> int:
        return self.num_classes

    @property
    def recurrent_layers(self) -> int:
        return 0 if self.model == "bag" else self.num_layers

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """Its weights (an ensemble's under ``members.K.``): the body's, the pooling's and the output layer's."""
        c = self
        if c.model == "bag":
            shapes: dict[str, tuple[int, ...]] = {"embedding.weight": (c.vocab_size, c.embedding_dim)}
            features = c.embedding_dim
        else:
            shapes = body_shapes(
                c.vocab_size, c.embedding_dim, c.cell, c.hidden_size, c.num_layers, c.directions, subwords=c.subwords
            )
            features = c.hidden_size * c.directions
            if c.pooling == "attention":
                shapes["pooling.score.weight"] = (1, features)
            if c.pooling == "concat":
                features *= 3
        shapes["output.weight"] = (c.num_classes, features)
        shapes["output.bias"] = (c.num_classes,)
        if c.members == 1:
            return shapes
        return {f"members.{i}.{name}": shape for i in range(c.members) for name, shape in shapes.items()}


