"""What a network is, as plain data, and the weights it must have: the base of every task's settings
(:class:`Settings`, each task's in ``rnnkit.tasks.<name>.config``) and the shared body's checks and weights
(embedding -> ``Recurrent``), named alike in every task, so that a language model's body loads into a classifier
or a translation encoder by parameter name.

Kept free of torch so that a saved model can be read and checked, and run by onnxruntime, without importing it.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from rnnkit.options import CHOICES, MAX_SUBWORDS
from rnnkit.text.subwords import MAX_WORD_CHARS

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


class Settings:
    """A network's settings as a dataclass saved in ``config.json``: a JSON round trip that refuses unknown names
    and wrong types (files come from anyone), and what a model directory is checked against before a weight is
    used: the weights' names and shapes (:meth:`weight_shapes`), the size of each named vocabulary
    (:meth:`vocabulary_sizes`) and the number of labels (:attr:`label_count`)."""

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """The name and shape of every weight of the network, as in its ``state_dict`` (tests hold them equal)."""
        raise NotImplementedError

    def vocabulary_sizes(self) -> dict[str, int]:
        """The size of each named vocabulary the network was built for."""
        return {"tokens": self.vocab_size}  # type: ignore[attr-defined]

    @property
    def label_count(self) -> int | None:
        """How many labels (classes, tags) the network scores; ``None`` for a model without labels."""
        return None

    @property
    def recurrent_layers(self) -> int:
        """Recurrent layers whose weights the file must hold: checked against the file's tensors before the names of
        the 10**9 layers a damaged config.json may ask for are listed."""
        return getattr(self, "num_layers", 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        # The fields' types as their names: strings under ``from __future__ import annotations``, else classes.
        known = {f.name: f.type if isinstance(f.type, str) else f.type.__name__ for f in fields(cls)}  # type: ignore
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown model settings {unknown}")
        types = {"int": int, "str": str, "bool": bool, "float": (int, float)}
        for name, value in data.items():
            expected = types[known[name]]
            if not isinstance(value, expected) or (known[name] == "int" and isinstance(value, bool)):
                raise ValueError(f"model setting {name!r} must be {known[name]}, got {value!r}")
        return cls(**data)


def subword_checks(c: Any) -> list[tuple[bool, str]]:
    """The checks of a body's sub-word settings (:mod:`rnnkit.text.subwords`)."""
    return [
        (0 <= c.subwords <= MAX_SUBWORDS, f"subwords must be in 0..{MAX_SUBWORDS} (hash buckets), got {c.subwords}"),
        (
            1 <= c.ngram_min <= c.ngram_max <= MAX_WORD_CHARS + 2,
            f"n-gram sizes must satisfy 1 <= ngram_min <= ngram_max <= {MAX_WORD_CHARS + 2}, "
            f"got {c.ngram_min} and {c.ngram_max}",
        ),
    ]


def check(checks: list[tuple[bool, str]]) -> None:
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


def body_checks(c: Any) -> list[tuple[bool, str]]:
    """The checks of the shared body's settings, the same in every task's configuration."""
    return [
        (c.cell in CHOICES["cell"], f"cell must be one of {CHOICES['cell']}, got {c.cell!r}"),
        (c.backend in CHOICES["backend"], f"backend must be one of {CHOICES['backend']}, got {c.backend!r}"),
        (c.vocab_size >= 2, f"vocab_size must be at least 2, got {c.vocab_size}"),
        (c.embedding_dim >= 1, f"embedding_dim must be positive, got {c.embedding_dim}"),
        (c.hidden_size >= 1, f"hidden_size must be positive, got {c.hidden_size}"),
        (c.num_layers >= 1, f"num_layers must be positive, got {c.num_layers}"),
        (0.0 <= c.dropout < 1.0, f"dropout must be in [0, 1), got {c.dropout}"),
    ]


def body_shapes(
    vocab_size: int,
    embedding_dim: int,
    cell: str,
    hidden_size: int,
    num_layers: int,
    directions: int,
    characters: tuple[int, int, int] | None = None,
    subwords: int = 0,
) -> dict[str, tuple[int, ...]]:
    """The shared body's weights, named as every task names them: ``embedding.weight`` and ``encoder.*``; with
    ``characters`` = (alphabet size, character embedding size, character hidden size) the character encoder's
    ``characters.*``, whose output joins the word embedding; with ``subwords`` hash buckets the n-gram table
    ``subwords.weight`` (a row per bucket and the padding's), added to it."""
    shapes: dict[str, tuple[int, ...]] = {"embedding.weight": (vocab_size, embedding_dim)}
    if subwords:
        shapes["subwords.weight"] = (subwords + 1, embedding_dim)
    features = embedding_dim
    if characters is not None:
        alphabet, char_dim, char_hidden = characters
        shapes["characters.embedding.weight"] = (alphabet, char_dim)
        shapes.update({f"characters.{k}": v for k, v in recurrent_shapes("lstm", char_dim, char_hidden, 1, 2).items()})
        features += 2 * char_hidden
    shapes.update(recurrent_shapes(cell, features, hidden_size, num_layers, directions))
    return shapes


def recurrent_shapes(
    cell: str, input_size: int, hidden_size: int, num_layers: int, directions: int
) -> dict[str, tuple[int, ...]]:
    """A :class:`rnnkit.nn.Recurrent`'s weights, named ``encoder.*`` as torch.nn.LSTM names its own."""
    shapes: dict[str, tuple[int, ...]] = {}
    rows = GATES[cell] * hidden_size
    for layer in range(num_layers):
        inputs = input_size if layer == 0 else hidden_size * directions
        for suffix in [f"_l{layer}", f"_l{layer}_reverse"][:directions]:
            shapes[f"encoder.weight_ih{suffix}"] = (rows, inputs)
            shapes[f"encoder.weight_hh{suffix}"] = (rows, hidden_size)
            shapes[f"encoder.bias_ih{suffix}"] = (rows,)
            shapes[f"encoder.bias_hh{suffix}"] = (rows,)
    return shapes




def weight_shapes(config: Settings) -> dict[str, tuple[int, ...]]:
    """The name and shape of every weight the network of ``config`` has (:meth:`Settings.weight_shapes`)."""
    return config.weight_shapes()
