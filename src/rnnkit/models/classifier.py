"""Text classifiers: the lesson's recurrent network, and the bag-of-embeddings baseline it improves on.

``TextClassifier``: embedding -> ``Recurrent`` -> pooling -> dropout -> linear, as in the lesson (where the
classifier reads the final state), with the pooling made a choice. ``BagOfEmbeddings``: the lesson's previous
unit, the average of the word embeddings -> linear; it ignores word order, which shows what order adds.
``Ensemble``: several such networks trained apart, their class probabilities averaged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.nn import BACKENDS, CELLS, POOLINGS, Pooling, Recurrent
from rnnkit.text import PAD_ID, UNK_ID

MODELS = ("rnn", "bag")
MAX_MEMBERS = 16


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
            (self.cell in CELLS, f"cell must be one of {CELLS}, got {self.cell!r}"),
            (self.pooling in POOLINGS, f"pooling must be one of {POOLINGS}, got {self.pooling!r}"),
            (self.backend in BACKENDS, f"backend must be one of {BACKENDS}, got {self.backend!r}"),
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


def replace_words(ids: Tensor, rate: float) -> Tensor:
    """Word dropout: replace a random ``rate`` of the real tokens by ``<unk>``, so that the network learns what to
    do with words it has never seen, as it must at test time."""
    if rate == 0.0:
        return ids
    drop = (torch.rand(ids.shape, device=ids.device) < rate) & (ids != PAD_ID)
    return ids.masked_fill(drop, UNK_ID)


class TextClassifier(nn.Module):
    """``ids`` ``[B, T]``, ``lengths`` ``[B]`` -> class scores (logits) ``[B, C]``."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.encoder = Recurrent(
            config.cell,
            config.embedding_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            backend=config.backend,
        )
        self.pooling = Pooling(config.pooling, self.encoder.output_size, bidirectional=config.bidirectional)
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(self.pooling.output_size, config.num_classes)

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        ids = replace_words(ids, self.config.word_dropout) if self.training else ids
        x = self.dropout(self.embedding(ids))  # (B, T, E)
        outputs, _ = self.encoder(x, lengths)  # (B, T, D*H), zero at padding
        pooled = self.pooling(outputs, lengths)  # (B, D*H)
        return self.output(self.dropout(pooled))  # (B, C)


class BagOfEmbeddings(nn.Module):
    """The average of the text's word embeddings (padding excluded) -> dropout -> linear; order-blind."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.EmbeddingBag(config.vocab_size, config.embedding_dim, mode="mean", padding_idx=PAD_ID)
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(config.embedding_dim, config.num_classes)

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        ids = replace_words(ids, self.config.word_dropout) if self.training else ids
        return self.output(self.dropout(self.embedding(ids)))  # (B, E) -> (B, C)


class Ensemble(nn.Module):
    """The mean of the members' class probabilities, returned as its logarithm so that it serves as logits
    (``softmax`` of it gives the mean back; ``argmax`` is the ensemble's vote).

    Networks trained from different seeds on a small data set err on different texts; averaging them removes
    much of that seed-to-seed variance (measured in benchmarks/RESULTS.md).
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        probabilities = torch.stack([member(ids, lengths).softmax(-1) for member in self.members]).mean(0)
        return probabilities.clamp_min(torch.finfo(probabilities.dtype).tiny).log()


def build_model(config: ClassifierConfig) -> nn.Module:
    kind = TextClassifier if config.model == "rnn" else BagOfEmbeddings
    if config.members == 1:
        return kind(config)
    return Ensemble([kind(config) for _ in range(config.members)])


def members_of(model: nn.Module) -> list[nn.Module]:
    """The networks that make up ``model``: its members for an ``Ensemble``, else the model itself."""
    return list(model.members) if isinstance(model, Ensemble) else [model]
