"""The body every task shares: an embedding of the tokens, read by a :class:`~rnnkit.nn.Recurrent` stack.

A classifier pools its outputs, a language model decodes the next token from each of them; both are this body with
a head on top, and their weights are named alike (``embedding.weight``, ``encoder.weight_ih_l0`` ...), so that the
body of one loads into another by name: a language model's body starts a classifier (pretraining).

Sub-word features belong to the body too, so that words never seen in training still say something:

* with ``characters`` = (alphabet, embedding size, hidden size), each word's spelling is read by a
  :class:`~rnnkit.nn.characters.CharacterEncoder` and its vector joined to the embedding (a tagger's way);
* with ``subwords`` = the number of hash buckets, the mean of the vectors of the word's hashed character n-grams
  (``subwords.weight``, row 0 the padding's, zero) is added to its embedding (fastText's way,
  :mod:`rnnkit.text.subwords`): ``x = E[w] + mean_k G[g_k]``, the same size, so the recurrent layers do not change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn import Recurrent
from rnnkit.nn.characters import CharacterEncoder
from rnnkit.text import PAD_ID
from rnnkit.text.spellings import Spellings


class RecurrentBody(nn.Module):
    """``embedding`` ``[V, E]`` (``<pad>`` = 0 stays zero) and ``encoder``, a recurrent stack over it."""

    _embedded_once: EmbeddedOnce | None = None  # set within embedded_once()

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
        subwords: int = 0,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        if subwords:
            self.subwords = nn.Embedding(subwords + 1, embedding_dim, padding_idx=PAD_ID)
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
            "subwords": getattr(config, "subwords", 0),
        }

    def embed(self, ids: Tensor, noise: Tensor | None = None, spellings: Spellings | None = None) -> Tensor:
        """The word vectors ``[B, T, E]`` of ``ids`` ``[B, T]``, moved by ``noise`` if given (adversarial
        training moves them the way that hurts most), with the mean vector of their n-grams added when the body
        reads sub-words, and joined by the vectors of their characters when it reads characters:
        ``[B, T, E + 2C]``. ``spellings`` (:class:`~rnnkit.text.spellings.Spellings`) spells each distinct word of
        the batch once. Within :meth:`embedded_once`, the words are embedded by the first call only."""
        once = self._embedded_once
        if once is not None and once.vectors is not None:
            x = once.again()
        else:
            x = self.embedding(ids)
            if hasattr(self, "subwords"):
                if spellings is None or spellings.ngrams is None:
                    raise ValueError("this network reads sub-words: give the words' spellings (forms and ngrams)")
                x = x + spelled(spellings.forms, self.subword_vectors(spellings.ngrams))  # (B, T, E)
            if hasattr(self, "characters"):
                if spellings is None or spellings.chars is None:
                    raise ValueError("this network reads characters: give the words' spellings (forms and chars)")
                words = self.characters(spellings.chars, spellings.char_lengths)  # (U, 2C): each spelling once
                x = torch.cat([x, spelled(spellings.forms, words)], dim=2)  # (B, T, E + 2C)
            if once is not None:
                x = once.first(x)
        if noise is None:
            return x
        if noise.shape[-1] < x.shape[-1]:  # the characters' part is not moved
            noise = F.pad(noise, (0, x.shape[-1] - noise.shape[-1]))
        return x + noise

    @contextmanager
    def embedded_once(self) -> Iterator[None]:
        """Adversarial training reads each batch twice, the second time with its word vectors moved; the vectors
        themselves (word embedding, n-grams, characters) are the same both times. Within this context they are
        computed and back-propagated once: the first pass reads a detached copy, the second the vectors
        themselves, whose gradient gains the first pass's, so every table's gradient is what two full passes give
        (the second pass's backward delivers all of it, as distributed training's synchronised pass must). Both
        passes read the same words: one that word dropout made ``<unk>`` in the first is ``<unk>`` in the second."""
        self._embedded_once = EmbeddedOnce()
        try:
            yield
        finally:
            self._embedded_once = None

    def subword_vectors(self, ngrams: Tensor) -> Tensor:
        """Each distinct word's sub-word vector ``[U, E]``: the mean of its n-grams' vectors (``ngrams`` ``[U, K]``,
        padded with 0, which is left out); zero for the padding's row, which has none. One fused gather-and-mean:
        no ``[U, K, E]`` tensor of every n-gram's vector is made, forwards or backwards."""
        return F.embedding_bag(ngrams, self.subwords.weight, mode="mean", padding_idx=PAD_ID)  # (U, E)

    def noise_shape(self, ids: Tensor) -> tuple[int, ...]:
        """The shape of what the body reads from its embedding, where ``noise`` is added."""
        return (*ids.shape, self.embedding.embedding_dim)


def spelled(forms: Tensor, rows: Tensor) -> Tensor:
    """Each position's row of ``rows`` ``[U, D]`` (one per distinct word of the batch), ``[B, T, D]``.

    A gather written as an embedding lookup, not as ``rows[forms]``: both give the same vectors, but indexing's
    backward adds the gradients of repeated words in an order that changes from run to run on a CPU (about 1e-7, which
    adversarial training amplifies to different models), where the embedding's backward adds them in a fixed order,
    and faster (benchmarks/RESULTS.md, "Deterministic training").
    """
    return F.embedding(forms, rows)


class EmbeddedOnce:
    """The vectors of :meth:`RecurrentBody.embedded_once`: kept from the first call of ``embed``, read again by
    the second."""

    def __init__(self) -> None:
        self.vectors: Tensor | None = None
        self.copy: Tensor | None = None

    def first(self, vectors: Tensor) -> Tensor:
        """The first pass reads a detached copy; its gradient is kept for the second pass."""
        self.vectors = vectors
        self.copy = vectors.detach().requires_grad_(vectors.requires_grad)
        return self.copy

    def again(self) -> Tensor:
        """The vectors themselves, whose backward pass adds the first pass's gradient to the second's."""
        assert self.vectors is not None and self.copy is not None
        earlier = self.copy.grad
        if earlier is not None and self.vectors.requires_grad:
            self.vectors.register_hook(lambda grad: grad + earlier)
        return self.vectors
