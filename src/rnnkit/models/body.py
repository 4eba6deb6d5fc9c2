"""The body every task shares: an embedding of the tokens, read by a :class:`~rnnkit.nn.Recurrent` stack.

A classifier pools its outputs, a language model decodes the next token from each of them; both are this body with
a head on top, and their weights are named alike (``embedding.weight``, ``encoder.weight_ih_l0`` ...), so that the
body of one loads into another by name: a language model's body starts a classifier (pretraining).

A sub-word feature belongs to the body too: with ``characters`` = (alphabet, embedding size, hidden size), each
word's spelling is read by a :class:`~rnnkit.nn.characters.CharacterEncoder` and joined to its embedding, so that
words never seen in training still say something (a tagger's unseen words; any task may use it).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.nn import Recurrent
from rnnkit.nn.characters import CharacterEncoder
from rnnkit.text import PAD_ID

Spellings = tuple[Tensor, Tensor, Tensor]  # forms [B, T], chars [U, L], char_lengths [U]


class RecurrentBody(nn.Module):
    """``embedding`` ``[V, E]`` (``<pad>`` = 0 stays zero) and ``encoder``, a recurrent stack over it."""

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int,
        cell: str,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        weight_drop: float = 0.0,
        backend: str = "fused",
        characters: tuple[int, int, int] | None = None,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        features = embedding_dim
        if characters is not None:
            self.characters = CharacterEncoder(*characters, backend=backend)
            features += self.characters.output_size
        self.encoder = Recurrent(
            cell,
            features,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,  # between layers only
            weight_drop=weight_drop,
            backend=backend,
        )

    @classmethod
    def settings(cls, config: Any) -> dict[str, Any]:
        """The body's arguments from any task's configuration, read by name (a setting a task lacks takes the
        body's default: a language model is not bidirectional, only some bodies read characters)."""
        return {
            "vocab_size": config.vocab_size,
            "embedding_dim": config.embedding_dim,
            "cell": config.cell,
            "hidden_size": config.hidden_size,
            "num_layers": config.num_layers,
            "bidirectional": getattr(config, "bidirectional", False),
            "dropout": config.dropout,
            "weight_drop": getattr(config, "weight_drop", 0.0),
            "backend": config.backend,
            "characters": getattr(config, "characters", None),
        }

    def embed(self, ids: Tensor, noise: Tensor | None = None, spellings: Spellings | None = None) -> Tensor:
        """The word vectors ``[B, T, E]`` of ``ids`` ``[B, T]``, moved by ``noise`` if given (adversarial
        training moves them the way that hurts most), joined by the vectors of their ``spellings``
        ``(forms [B, T], chars [U, L], char_lengths [U])`` when the body reads characters: ``[B, T, E + 2C]``."""
        x = self.embedding(ids)
        x = x if noise is None else x + noise
        if spellings is None:
            return x
        forms, chars, char_lengths = spellings
        words = self.characters(chars, char_lengths)  # (U, 2C): each distinct spelling once
        return torch.cat([x, words[forms]], dim=2)  # (B, T, E + 2C)

    def noise_shape(self, ids: Tensor) -> tuple[int, ...]:
        """The shape of what the body reads from its embedding, where ``noise`` is added."""
        return (*ids.shape, self.embedding.embedding_dim)
