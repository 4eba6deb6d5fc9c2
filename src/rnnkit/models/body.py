"""The body every task shares: an embedding of the tokens, read by a :class:`~rnnkit.nn.Recurrent` stack.

A classifier pools its outputs, a language model decodes the next token from each of them; both are this body with
a head on top, and their weights are named alike (``embedding.weight``, ``encoder.weight_ih_l0`` ...), so that the
body of one loads into another by name: a language model's body starts a classifier (pretraining).
"""

from __future__ import annotations

from torch import Tensor, nn

from rnnkit.nn import Recurrent
from rnnkit.text import PAD_ID


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
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.encoder = Recurrent(
            cell,
            embedding_dim,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,  # between layers only
            weight_drop=weight_drop,
            backend=backend,
        )

    def embed(self, ids: Tensor, noise: Tensor | None = None) -> Tensor:
        """The word vectors ``[B, T, E]`` of ``ids`` ``[B, T]``, moved by ``noise`` if given (adversarial
        training moves them the way that hurts most)."""
        x = self.embedding(ids)
        return x if noise is None else x + noise

    def noise_shape(self, ids: Tensor) -> tuple[int, ...]:
        """The shape of what the body reads from its embedding, where ``noise`` is added."""
        return (*ids.shape, self.embedding.embedding_dim)
