"""The model directory: how a trained classifier is written to disk and read back, checked, without torch.

A model directory holds ``config.json`` (settings, labels, versions, checksums), ``vocab.json`` and
``model.safetensors``. Nothing in it is code: reading never unpickles, and :func:`read_model_dir` checks every
file (format version, checksums, tensor names, shapes and dtypes, label count) before a single weight is used.
Weights travel as NumPy arrays, so both the torch pipeline and the onnxruntime one read through here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from rnnkit import __version__
from rnnkit.errors import ModelFileError
from rnnkit.io import atomic_write_bytes, atomic_write_json
from rnnkit.models.config import ClassifierConfig, weight_shapes
from rnnkit.text import Tokenizer, Vocab, tokenizer_from_dict

FORMAT = "rnnkit-text-classifier"
FORMAT_VERSION = 1
FILES = ("config.json", "vocab.json", "model.safetensors")
MAX_JSON_BYTES = 256 * 2**20  # a vocabulary of millions of words fits; a runaway file does not


@dataclass
class SavedModel:
    """Everything a model directory holds, read and checked; ``weights`` as named float32 arrays."""

    tokenizer: Tokenizer
    vocab: Vocab
    labels: list[str]
    config: ClassifierConfig
    weights: dict[str, np.ndarray]
    max_length: int | None = None
    training: dict[str, Any] = field(default_factory=dict)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_model_dir(directory: str | Path, model: SavedModel) -> Path:
    """Write the three files, each atomically; ``config.json`` last, with the checksums of the other two."""
    directory = Path(directory)
    weights = save_safetensors({k: np.ascontiguousarray(v) for k, v in model.weights.items()})
    vocab = (json.dumps(model.vocab.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
    atomic_write_bytes(directory / "model.safetensors", weights)
    atomic_write_bytes(directory / "vocab.json", vocab)
    atomic_write_json(
        directory / "config.json",
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "rnnkit_version": __version__,
            "labels": model.labels,
            "tokenizer": model.tokenizer.to_dict(),
            "max_length": model.max_length,
            "model": model.config.to_dict(),
            "training": model.training,
            "sha256": {"vocab.json": _sha256(vocab), "model.safetensors": _sha256(weights)},
        },
    )
    return directory


def _read(directory: Path, name: str, limit: int | None = None) -> bytes:
    path = directory / name
    if not path.is_file():
        raise ModelFileError(f"{directory}: missing {name}; a model directory needs {', '.join(FILES)}")
    if limit is not None and path.stat().st_size > limit:
        raise ModelFileError(f"{path}: {path.stat().st_size} bytes is too large for a {name}")
    return path.read_bytes()


def read_model_dir(directory: str | Path) -> SavedModel:
    """Read a model directory written by :func:`write_model_dir`, refusing anything damaged or foreign."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelFileError(f"{directory}: no such model directory; train one with 'rnnkit train'")
    try:
        config = json.loads(_read(directory, "config.json", MAX_JSON_BYTES))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{directory / 'config.json'}: not valid JSON ({e}); the file is damaged") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{directory}: not an rnnkit text classifier (config.json has no format {FORMAT!r})")
    version = config.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{directory}: saved in model format {version!r} by rnnkit {config.get('rnnkit_version')}; this rnnkit "
            f"({__version__}) reads format {FORMAT_VERSION} and older: upgrade rnnkit"
        )
    vocab_bytes = _read(directory, "vocab.json", MAX_JSON_BYTES)
    weight_bytes = _read(directory, "model.safetensors")
    sums = config.get("sha256", {})
    for name, data in (("vocab.json", vocab_bytes), ("model.safetensors", weight_bytes)):
        if not isinstance(sums, dict) or sums.get(name) != _sha256(data):
            raise ModelFileError(
                f"{directory / name}: checksum does not match config.json; the file is damaged or truncated"
            )
    try:
        labels = config["labels"]
        if not isinstance(labels, list) or len(labels) < 2 or len(set(labels)) != len(labels):
            raise ValueError("labels must be a list of at least two distinct names")
        if not all(isinstance(label, str) for label in labels):
            raise ValueError("labels must be strings")
        tokenizer = tokenizer_from_dict(config["tokenizer"])
        vocab = Vocab.from_dict(json.loads(vocab_bytes))
        model_config = ClassifierConfig.from_dict(config["model"])
        max_length = config.get("max_length")
        if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
            raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
        training = config.get("training", {})
        if not isinstance(training, dict):
            raise ValueError("training must be an object")
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{directory / 'config.json'}: invalid ({e})") from None
    if model_config.vocab_size != len(vocab):
        raise ModelFileError(
            f"{directory}: vocab.json has {len(vocab)} words but the model was built for {model_config.vocab_size}"
        )
    if model_config.num_classes != len(labels):
        raise ModelFileError(
            f"{directory}: config.json lists {len(labels)} labels but the model has {model_config.num_classes} classes"
        )
    try:
        weights = load_safetensors(weight_bytes)
    except (SafetensorError, ValueError, OSError, TypeError) as e:
        raise ModelFileError(f"{directory / 'model.safetensors'}: not a readable safetensors file ({e})") from None
    expected = weight_shapes(model_config)
    if set(weights) != set(expected):
        missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        raise ModelFileError(
            f"{directory}: weights do not fit the model (missing {missing[:3]}, unexpected {extra[:3]})"
        )
    for name, array in weights.items():
        if array.shape != expected[name] or array.dtype != np.float32:
            raise ModelFileError(
                f"{directory}: weight {name} has shape {array.shape} {array.dtype}, "
                f"the model expects {expected[name]} float32"
            )
    return SavedModel(tokenizer, vocab, labels, model_config, weights, max_length, training)
