"""What a translation network is, as plain data, and the weights it must have: :class:`TranslatorConfig` and
:func:`translator_shapes`.

Kept free of torch (like :mod:`rnnkit.models.config`) so that a saved translator can be read, checked and run by
onnxruntime without importing it. The encoder's weights are named as the shared body names its own
(``embedding.weight``, ``encoder.weight_ih_l0`` ...), so the body of a language model of the source language loads
into a translator's encoder by name.

The network, in the names of its weights (``F = directions * encoder_hidden_size``, ``H = decoder_hidden_size``,
``O`` = the attentional vector's size: ``embedding_dim`` when the output layer is the target embedding, else H)::

    embedding [Vs, E], encoder.*          the source body: a bidirectional, stacked Recurrent -> memory [S, F]
    bridge [L*H*(2 for LSTM), F] + bias   the decoder's first state, from the encoder's final states
    target_embedding [Vt, E]
    decoder.*                             a Recurrent over [E ; previous attentional vector O (input feeding)]
    attention.*                           Luong "general": weight [H, F]; Bahdanau: query [A, H], key [A, F], v [1, A]
    combine [O, F + H]                    the attentional vector tanh(W_c [context ; h])
    output.bias [Vt] (output.weight [Vt, O] unless tied to target_embedding)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rnnkit.models.config import Settings, check, recurrent_shapes
from rnnkit.options import CHOICES

ATTENTIONS = ("luong", "bahdanau")


@dataclass
class TranslatorConfig(Settings):
    """Everything needed to rebuild a translation network; saved as JSON beside its weights."""

    source_vocab_size: int
    target_vocab_size: int
    cell: str = "lstm"
    embedding_dim: int = 256
    encoder_hidden_size: int = 256  # per direction
    encoder_layers: int = 1
    bidirectional: bool = True
    decoder_hidden_size: int = 256
    decoder_layers: int = 1
    attention: str = "luong"  # "luong" (multiplicative, "general") or "bahdanau" (additive)
    input_feeding: bool = False  # the previous attentional vector joins the decoder's input (Luong et al. 2015)
    tie_embeddings: bool = True  # the output layer is the target embedding (Press & Wolf 2017)
    dropout: float = 0.0  # on embeddings, between layers and on the attentional vector, in training only
    backend: str = "fused"

    def __post_init__(self) -> None:
        checks = [
            (self.cell in CHOICES["cell"], f"cell must be one of {CHOICES['cell']}, got {self.cell!r}"),
            (self.backend in CHOICES["backend"], f"backend must be one of {CHOICES['backend']}, got {self.backend!r}"),
            (self.attention in ATTENTIONS, f"attention must be one of {ATTENTIONS}, got {self.attention!r}"),
            (self.source_vocab_size >= 5, f"source_vocab_size must be at least 5, got {self.source_vocab_size}"),
            (self.target_vocab_size >= 5, f"target_vocab_size must be at least 5, got {self.target_vocab_size}"),
            (self.embedding_dim >= 1, f"embedding_dim must be positive, got {self.embedding_dim}"),
            (self.encoder_hidden_size >= 1, f"encoder_hidden_size must be positive, got {self.encoder_hidden_size}"),
            (self.decoder_hidden_size >= 1, f"decoder_hidden_size must be positive, got {self.decoder_hidden_size}"),
            (1 <= self.encoder_layers <= 16, f"encoder_layers must be in 1..16, got {self.encoder_layers}"),
            (1 <= self.decoder_layers <= 16, f"decoder_layers must be in 1..16, got {self.decoder_layers}"),
            (0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}"),
        ]
        check(checks)

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        return translator_shapes(self)

    def vocabulary_sizes(self) -> dict[str, int]:
        """None in ``vocab.json``: the sub-word models are files of their own (``source.spm``, ``target.spm``),
        checked against ``source_vocab_size`` and ``target_vocab_size`` by the task."""
        return {}

    @property
    def recurrent_layers(self) -> int:
        return self.encoder_layers + self.decoder_layers

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def memory_size(self) -> int:
        """F: the size of each encoder output that attention reads (both directions joined)."""
        return self.directions * self.encoder_hidden_size

    @property
    def attentional_size(self) -> int:
        """O: the attentional vector's size, which the output layer reads (the embedding's when tied)."""
        return self.embedding_dim if self.tie_embeddings else self.decoder_hidden_size

    @property
    def decoder_input_size(self) -> int:
        return self.embedding_dim + (self.attentional_size if self.input_feeding else 0)

    @property
    def state_parts(self) -> int:
        """Recurrent states per layer: (h, c) for an LSTM, h otherwise."""
        return 2 if self.cell == "lstm" else 1


def _renamed(shapes: dict[str, tuple[int, ...]], prefix: str) -> dict[str, tuple[int, ...]]:
    return {prefix + name.removeprefix("encoder."): shape for name, shape in shapes.items()}


def translator_shapes(config: TranslatorConfig) -> dict[str, tuple[int, ...]]:
    """The name and shape of every weight of the network of ``config``, as in its ``state_dict`` (a test holds them
    equal), so that a saved translator is checked before a single weight is used."""
    c = config
    shapes: dict[str, tuple[int, ...]] = {"embedding.weight": (c.source_vocab_size, c.embedding_dim)}
    shapes.update(recurrent_shapes(c.cell, c.embedding_dim, c.encoder_hidden_size, c.encoder_layers, c.directions))
    shapes["bridge.weight"] = (c.decoder_layers * c.decoder_hidden_size * c.state_parts, c.memory_size)
    shapes["bridge.bias"] = (c.decoder_layers * c.decoder_hidden_size * c.state_parts,)
    shapes["target_embedding.weight"] = (c.target_vocab_size, c.embedding_dim)
    decoder = recurrent_shapes(c.cell, c.decoder_input_size, c.decoder_hidden_size, c.decoder_layers, 1)
    shapes.update(_renamed(decoder, "decoder."))
    if c.attention == "luong":
        shapes["attention.weight"] = (c.decoder_hidden_size, c.memory_size)
    else:
        size = c.decoder_hidden_size  # A = H
        shapes["attention.query.weight"] = (size, c.decoder_hidden_size)
        shapes["attention.key.weight"] = (size, c.memory_size)
        shapes["attention.key.bias"] = (size,)
        shapes["attention.v.weight"] = (1, size)
    shapes["combine.weight"] = (c.attentional_size, c.memory_size + c.decoder_hidden_size)
    if not c.tie_embeddings:
        shapes["output.weight"] = (c.target_vocab_size, c.attentional_size)
    shapes["output.bias"] = (c.target_vocab_size,)
    return shapes


def describe(config: TranslatorConfig) -> dict[str, Any]:
    """The network in a line of figures, for logs: sizes and the number of weights."""
    count = 0
    for shape in translator_shapes(config).values():
        size = 1
        for n in shape:
            size *= n
        count += size
    return {**config.to_dict(), "weights": count}
