"""``ClassifierConfig``: what a text classifier network is, as plain data, and the weights it must have.

Kept free of torch so that a saved model can be read and checked, and run by onnxruntime, without importing it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from rnnkit.options import CHOICES

MODELS = CHOICES["model"]
MAX_MEMBERS = 16
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


@dataclass
class ClassifierConfig:
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

    def __post_init__(self) -> None:
        checks = [
            (self.model in MODELS, f"model must be one of {MODELS}, got {self.model!r}"),
            (self.cell in CHOICES["cell"], f"cell must be one of {CHOICES['cell']}, got {self.cell!r}"),
            (self.pooling in CHOICES["pooling"], f"pooling must be one of {CHOICES['pooling']}, got {self.pooling!r}"),
            (self.backend in CHOICES["backend"], f"backend must be one of {CHOICES['backend']}, got {self.backend!r}"),
            (self.vocab_size >= 2, f"vocab_size must be at least 2, got {self.vocab_size}"),
            (self.num_classes >= 2, f"num_classes must be at least 2, got {self.num_classes}"),
            (self.embedding_dim >= 1, f"embedding_dim must be positive, got {self.embedding_dim}"),
            (self.hidden_size >= 1, f"hidden_size must be positive, got {self.hidden_size}"),
            (self.num_layers >= 1, f"num_layers must be positive, got {self.num_layers}"),
            (0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}"),
            (0.0 <= self.word_dropout < 1.0, f"word_dropout must be in [0, 1), got {self.word_dropout}"),
            (1 <= self.members <= MAX_MEMBERS, f"members must be in 1..{MAX_MEMBERS}, got {self.members}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifierConfig:
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown model settings {unknown}")
        types = {"int": int, "str": str, "bool": bool, "float": (int, float)}
        for name, value in data.items():
            expected = types[known[name]]
            if not isinstance(value, expected) or (known[name] == "int" and isinstance(value, bool)):
                raise ValueError(f"model setting {name!r} must be {known[name]}, got {value!r}")
        return cls(**data)


def weight_shapes(config: ClassifierConfig) -> dict[str, tuple[int, ...]]:
    """The name and shape of every weight the network of ``config`` has, as in its ``state_dict``.

    A saved model is checked against this before a single weight is used (tests hold it equal to the torch
    modules' own state dicts).
    """
    c = config
    shapes: dict[str, tuple[int, ...]] = {"embedding.weight": (c.vocab_size, c.embedding_dim)}
    if c.model == "bag":
        features = c.embedding_dim
    else:
        rows = GATES[c.cell] * c.hidden_size
        for layer in range(c.num_layers):
            inputs = c.embedding_dim if layer == 0 else c.hidden_size * c.directions
            for suffix in [f"_l{layer}", f"_l{layer}_reverse"][: c.directions]:
                shapes[f"encoder.weight_ih{suffix}"] = (rows, inputs)
                shapes[f"encoder.weight_hh{suffix}"] = (rows, c.hidden_size)
                shapes[f"encoder.bias_ih{suffix}"] = (rows,)
                shapes[f"encoder.bias_hh{suffix}"] = (rows,)
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
