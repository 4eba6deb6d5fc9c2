"""What each kind of network is, as plain data, and the weights it must have: ``ClassifierConfig`` and
``LanguageModelConfig``, one per task, over one shared body (embedding -> ``Recurrent``) whose weights are named
alike in every task, so that a language model's body loads into a classifier by parameter name.

Kept free of torch so that a saved model can be read and checked, and run by onnxruntime, without importing it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from rnnkit.options import CHOICES, MAX_SUBWORDS
from rnnkit.text.subwords import MAX_N, MAX_WORD_CHARS, MIN_N

MODELS = CHOICES["model"]
MAX_MEMBERS = 16
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


class _Settings:
    """JSON round trip for a config dataclass, refusing unknown names and wrong types (files come from anyone)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        known = {f.name: f.type for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown model settings {unknown}")
        types = {"int": int, "str": str, "bool": bool, "float": (int, float)}
        for name, value in data.items():
            expected = types[known[name]]
            if not isinstance(value, expected) or (known[name] == "int" and isinstance(value, bool)):
                raise ValueError(f"model setting {name!r} must be {known[name]}, got {value!r}")
        return cls(**data)


def _subword_checks(c: Any) -> list[tuple[bool, str]]:
    """The checks of a body's sub-word settings (:mod:`rnnkit.text.subwords`)."""
    return [
        (0 <= c.subwords <= MAX_SUBWORDS, f"subwords must be in 0..{MAX_SUBWORDS} (hash buckets), got {c.subwords}"),
        (
            1 <= c.ngram_min <= c.ngram_max <= MAX_WORD_CHARS + 2,
            f"n-gram sizes must satisfy 1 <= ngram_min <= ngram_max <= {MAX_WORD_CHARS + 2}, "
            f"got {c.ngram_min} and {c.ngram_max}",
        ),
    ]


def _check(checks: list[tuple[bool, str]]) -> None:
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


def _body_checks(c: Any) -> list[tuple[bool, str]]:
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


@dataclass
class ClassifierConfig(_Settings):
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
        _check(
            [
                (self.model in MODELS, f"model must be one of {MODELS}, got {self.model!r}"),
                (
                    self.pooling in CHOICES["pooling"],
                    f"pooling must be one of {CHOICES['pooling']}, got {self.pooling!r}",
                ),
                *_body_checks(self),
                (self.num_classes >= 2, f"num_classes must be at least 2, got {self.num_classes}"),
                (0.0 <= self.word_dropout < 1.0, f"word_dropout must be in [0, 1), got {self.word_dropout}"),
                (1 <= self.members <= MAX_MEMBERS, f"members must be in 1..{MAX_MEMBERS}, got {self.members}"),
                *_subword_checks(self),
                (
                    self.subwords == 0 or self.model == "rnn",
                    "sub-words are read by the recurrent body (--model rnn), not by the bag of embeddings",
                ),
            ]
        )

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1


def weight_shapes(config: ClassifierConfig | LanguageModelConfig | TaggerConfig) -> dict[str, tuple[int, ...]]:
    """The name and shape of every weight the network of ``config`` has, as in its ``state_dict``.

    A saved model is checked against this before a single weight is used (tests hold it equal to the torch
    modules' own state dicts).
    """
    if isinstance(config, LanguageModelConfig):
        return _language_model_shapes(config)
    if isinstance(config, TaggerConfig):
        return _tagger_shapes(config)
    c = config
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
        shapes.update({f"characters.{k}": v for k, v in _recurrent_shapes("lstm", char_dim, char_hidden, 1, 2).items()})
        features += 2 * char_hidden
    shapes.update(_recurrent_shapes(cell, features, hidden_size, num_layers, directions))
    return shapes


def _recurrent_shapes(
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


@dataclass
class LanguageModelConfig(_Settings):
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
        _check(
            [
                *_body_checks(self),
                *_subword_checks(self),
                (0.0 <= self.weight_drop < 1.0, f"weight_drop must be in [0, 1), got {self.weight_drop}"),
            ]
        )

    @property
    def projected(self) -> bool:
        """Whether a projection maps the top layer's outputs to the embedding size for the tied decoder."""
        return self.tie_weights and self.hidden_size != self.embedding_dim


def _language_model_shapes(c: LanguageModelConfig) -> dict[str, tuple[int, ...]]:
    shapes = body_shapes(c.vocab_size, c.embedding_dim, c.cell, c.hidden_size, c.num_layers, 1, subwords=c.subwords)
    if c.projected:
        shapes["projection.weight"] = (c.embedding_dim, c.hidden_size)
    if not c.tie_weights:
        shapes["decoder.weight"] = (c.vocab_size, c.hidden_size)
    shapes["decoder.bias"] = (c.vocab_size,)
    return shapes


@dataclass
class TaggerConfig(_Settings):
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
        _check(
            [
                *_body_checks(self),
                *_subword_checks(self),
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
    def characters(self) -> tuple[int, int, int] | None:
        """The character encoder's sizes (alphabet, embedding, hidden), or ``None`` without one."""
        return (self.alphabet_size, self.char_embedding_dim, self.char_hidden_size) if self.alphabet_size else None


def _tagger_shapes(c: TaggerConfig) -> dict[str, tuple[int, ...]]:
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


# The one registry of what a model directory may hold: task name -> its configuration class.
TASK_CONFIGS: dict[str, type] = {"classify": ClassifierConfig, "lm": LanguageModelConfig, "tag": TaggerConfig}


def task_of(config: ClassifierConfig | LanguageModelConfig | TaggerConfig) -> str:
    """The task a configuration belongs to, as ``config.json`` and ``--task`` name it."""
    return next(task for task, kind in TASK_CONFIGS.items() if isinstance(config, kind))
