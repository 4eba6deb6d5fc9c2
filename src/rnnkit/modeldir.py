"""The model directory: how a trained model of any task is written to disk and read back, checked, without torch.

A model directory holds ``config.json`` (the task, settings, labels, versions, checksums), ``model.safetensors``,
``vocab.json`` for a task with vocabularies (the tokens', and a tagger's characters ...), and any further files the
task keeps (:attr:`rnnkit.tasks.Task.files`: a translator's sub-word models), each with its checksum.
Directories written by rnnkit 0.1 (format ``rnnkit-text-classifier``, version 1, no task) are read as classifiers.
Nothing in it is code: reading never unpickles, and :func:`read_model_dir` checks every file (format version,
task, checksums, tensor names, shapes and dtypes, vocabulary sizes, label count) before a single weight is used.
What differs from task to task is asked of the task (:mod:`rnnkit.tasks`): its settings' class, which knows the
weights and vocabularies it was built for.
Weights travel as NumPy arrays, so both the torch pipeline and the onnxruntime one read through here.

The files may come from a stranger, who can recompute the checksums: every value is checked for its type, and the
safetensors header is read and checked here (names, dtypes, shapes, each tensor's bytes within the file) before
``safetensors`` allocates anything, so a header that claims a huge tensor is refused, not obeyed.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from rnnkit import __version__, tasks
from rnnkit.errors import ModelFileError
from rnnkit.io import atomic_write_bytes, atomic_write_json
from rnnkit.models.config import Settings
from rnnkit.text import Tokenizer, Vocab, tokenizer_from_dict

FORMAT = "rnnkit-model"
FORMAT_VERSION = 2  # 2: any task, named in config.json; 1: rnnkit 0.1's classifiers
LEGACY_FORMAT = "rnnkit-text-classifier"  # rnnkit 0.1 wrote classifiers as format 1 of this name
FILES = ("config.json", "vocab.json", "model.safetensors")  # a task without vocabularies has no vocab.json
MAX_JSON_BYTES = 256 * 2**20  # a vocabulary of millions of words fits; a runaway file does not
MAX_FILE_BYTES = 256 * 2**20  # a task's further file (a sub-word model of a few hundred kilobytes) at most
WEIGHT_DTYPE = "F32"  # the safetensors name of float32, the only dtype rnnkit saves


@dataclass
class SavedModel:
    """Everything a model directory holds, read and checked; ``weights`` as named float32 arrays. ``vocab`` is the
    tokens' vocabulary; ``vocabularies`` the task's others by name (a tagger's ``characters``); ``files`` its
    further files' bytes by name."""

    tokenizer: Tokenizer | None  # None for a task that cuts its text itself (a translator's sub-word models)
    vocab: Vocab | None  # None for a task without vocabularies
    labels: list[str] | None  # a classifier's classes, a tagger's tags; None for a model without labels
    config: Settings
    weights: dict[str, np.ndarray]
    max_length: int | None = None
    training: dict[str, Any] = field(default_factory=dict)
    characters: Vocab | None = None  # the alphabet of a body that reads spellings (kept in vocab.json)
    vocabularies: dict[str, Vocab] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.characters is not None:
            self.vocabularies.setdefault("characters", self.characters)
        self.characters = self.vocabularies.get("characters")

    @property
    def task(self) -> str:
        return tasks.task_of_config(self.config).name


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_model_dir(directory: str | Path, model: SavedModel) -> Path:
    """Write the files, each atomically; ``config.json`` last, with the checksums of the others."""
    directory = Path(directory)
    weights = save_safetensors({k: np.ascontiguousarray(v) for k, v in model.weights.items()})
    files = {"model.safetensors": weights}
    if model.vocab is not None:
        vocab_data = model.vocab.to_dict()
        for name, vocabulary in model.vocabularies.items():  # beside the tokens: {"characters": [...], ...}
            vocab_data[name] = vocabulary.tokens
        files["vocab.json"] = (json.dumps(vocab_data, ensure_ascii=False) + "\n").encode("utf-8")
    files |= model.files
    for name, data in files.items():
        atomic_write_bytes(directory / name, data)
    atomic_write_json(
        directory / "config.json",
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "task": model.task,
            "rnnkit_version": __version__,
            **({"labels": model.labels} if model.labels is not None else {}),
            **({"tokenizer": model.tokenizer.to_dict()} if model.tokenizer is not None else {}),
            "max_length": model.max_length,
            "model": model.config.to_dict(),
            "training": model.training,
            "sha256": {name: _sha256(data) for name, data in files.items()},
        },
    )
    return directory


def _read(directory: Path, name: str, limit: int | None = None) -> bytes:
    path = directory / name
    if not path.is_file():
        raise ModelFileError(f"{directory}: missing {name}; the model directory is incomplete or damaged")
    if limit is not None and path.stat().st_size > limit:
        raise ModelFileError(f"{path}: {path.stat().st_size} bytes is too large for a {name}")
    return path.read_bytes()


def _json(path: Path, data: bytes) -> Any:
    """Parse JSON, any failure (bad syntax or encoding, a number of thousands of digits, nesting deep enough to
    exhaust the stack) as a one-line :class:`ModelFileError`."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelFileError(f"{path}: not valid JSON ({reason}); the file is damaged") from None


def _whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def safetensors_header(data: bytes, path: str | Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The tensors a safetensors file declares, ``{name: (dtype, shape)}``, checked without reading a weight.

    The file is 8 bytes (the header's length, little-endian), a JSON header naming each tensor's dtype, shape and
    byte range, then the bytes. Each range must lie within the file and hold exactly dtype x shape bytes, so that
    loading afterwards allocates no more than the file's own size, whatever the header claims.
    """
    if len(data) < 8:
        raise ModelFileError(f"{path}: {len(data)} bytes is too short for a safetensors file; the file is damaged")
    (length,) = struct.unpack("<Q", data[:8])
    body = len(data) - 8 - length
    if body < 0:
        raise ModelFileError(
            f"{path}: its header claims {length} bytes but the file has {len(data)}; the file is damaged"
        )
    header = _json(Path(path), data[8 : 8 + length])
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: the safetensors header is not a JSON object; the file is damaged")
    sizes = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        shape = entry.get("shape") if isinstance(entry, dict) else None
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (
            dtype not in sizes
            or not isinstance(shape, list)
            or not all(_whole_number(n) and n >= 0 for n in shape)
            or not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_whole_number(n) for n in offsets)
        ):
            raise ModelFileError(f"{path}: tensor {name!r} has no valid dtype, shape and data_offsets in the header")
        begin, end = offsets
        if not 0 <= begin <= end <= body:
            raise ModelFileError(
                f"{path}: tensor {name!r} claims bytes {begin}..{end} of {body}; the file is damaged or truncated"
            )
        if end - begin != math.prod(shape) * sizes[dtype]:
            raise ModelFileError(
                f"{path}: tensor {name!r} holds {end - begin} bytes but {dtype} {shape} needs "
                f"{math.prod(shape) * sizes[dtype]}; the file is damaged"
            )
        tensors[name] = (dtype, tuple(shape))
    return tensors


def read_model_dir(directory: str | Path) -> SavedModel:
    """Read a model directory written by :func:`write_model_dir`, refusing anything damaged or foreign."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelFileError(f"{directory}: no such model directory; train one with 'rnnkit train'")
    config = _json(directory / "config.json", _read(directory, "config.json", MAX_JSON_BYTES))
    task = tasks.get_or_none(_task(directory, config))
    assert task is not None  # _task refuses a task the registry lacks
    files = {"model.safetensors": _read(directory, "model.safetensors")}
    if task.vocabularies:
        files["vocab.json"] = _read(directory, "vocab.json", MAX_JSON_BYTES)
    files |= {name: _read(directory, name, MAX_FILE_BYTES) for name in task.files}
    sums = config.get("sha256", {})
    for name, data in files.items():
        if not isinstance(sums, dict) or sums.get(name) != _sha256(data):
            raise ModelFileError(
                f"{directory / name}: checksum does not match config.json; the file is damaged or truncated"
            )
    try:
        labels = check_labels(config["labels"]) if task.labels else None
        if labels is None and "labels" in config:
            raise ValueError(f"a {task.name} model has no labels")
        tokenizer = tokenizer_from_settings(config["tokenizer"]) if task.vocabularies else None
        if not isinstance(config["model"], dict):
            raise ValueError("model must be an object")
        model_config = task.config_class.from_dict(config["model"])
        max_length = check_max_length(config.get("max_length"))
        training = config.get("training", {})
        if not isinstance(training, dict):
            raise ValueError("training must be an object")
    except (KeyError, TypeError, ValueError) as e:
        reason = f"no {e.args[0]!r}" if isinstance(e, KeyError) else e
        raise ModelFileError(f"{directory / 'config.json'}: invalid ({reason})") from None
    vocab, others = _vocabularies(directory, files["vocab.json"], model_config) if task.vocabularies else (None, {})
    if labels is not None and model_config.label_count != len(labels):
        raise ModelFileError(
            f"{directory}: config.json lists {len(labels)} labels but the model has {model_config.label_count} "
            f"{task.labels}"
        )
    weights = _weights(directory, files["model.safetensors"], model_config)
    extra = {name: files[name] for name in task.files}
    saved = SavedModel(tokenizer, vocab, labels, model_config, weights, max_length, training, None, others, extra)
    task.check_saved(saved, str(directory))
    return saved


def _vocabularies(directory: Path, data: bytes, config: Settings) -> tuple[Vocab, dict[str, Vocab]]:
    """The tokens' vocabulary and the others the network was built for (``vocab.json`` holds each by name beside the
    tokens), each the size the network expects."""
    vocab_data = _json(directory / "vocab.json", data)
    sizes = config.vocabulary_sizes()
    try:
        vocab = Vocab.from_dict(vocab_data)
        others = {name: Vocab.from_dict({"tokens": vocab_data.get(name)}) for name in sizes if name != "tokens"}
    except ValueError as e:
        raise ModelFileError(f"{directory / 'vocab.json'}: invalid ({e})") from None
    for name, vocabulary in {"tokens": vocab, **others}.items():
        if name in sizes and len(vocabulary) != sizes[name]:
            unit = "words" if name == "tokens" else name
            raise ModelFileError(
                f"{directory}: vocab.json has {len(vocabulary)} {unit} but the model was built for {sizes[name]}"
            )
    return vocab, others


def _weights(directory: Path, data: bytes, config: Settings) -> dict[str, np.ndarray]:
    """The weights of ``model.safetensors``, each checked against the network of ``config`` (name, shape, dtype,
    finite values) before it is used, its header before anything is read."""
    declared = safetensors_header(data, directory / "model.safetensors")
    if config.recurrent_layers > len(declared):
        # Each layer has weights of its own: refused before listing the shapes of the 10**9 layers a config may ask for.
        raise ModelFileError(
            f"{directory}: config.json asks for {config.recurrent_layers} layers but model.safetensors holds "
            f"{len(declared)} tensors"
        )
    expected = config.weight_shapes()
    edited = "config.json's model settings and model.safetensors disagree: was config.json edited?"
    if set(declared) != set(expected):
        missing, extra = sorted(set(expected) - set(declared)), sorted(set(declared) - set(expected))
        raise ModelFileError(
            f"{directory}: weights do not fit the model (missing {missing[:3]}, unexpected {extra[:3]}); {edited}"
        )
    for name, (dtype, shape) in declared.items():
        if dtype != WEIGHT_DTYPE:
            raise ModelFileError(f"{directory}: weight {name} is {dtype}, the model expects float32")
        if shape != expected[name]:
            raise ModelFileError(
                f"{directory}: weight {name} has shape {shape}, the model expects {expected[name]}; {edited}"
            )
    try:
        weights = load_safetensors(data)
    except (SafetensorError, ValueError, OSError, TypeError) as e:
        raise ModelFileError(f"{directory / 'model.safetensors'}: not a readable safetensors file ({e})") from None
    for name, array in weights.items():  # the header said so; safetensors is trusted to have read it alike
        if array.shape != expected[name] or array.dtype != np.float32:
            raise ModelFileError(f"{directory}: weight {name} was read as {array.shape} {array.dtype}")
        if not np.isfinite(array).all():
            raise ModelFileError(f"{directory}: weight {name} holds NaN or infinite values; the file is damaged")
    return weights


def _task(directory: Path, config: Any) -> str:
    """The task of a model directory from its ``config.json``: checked format, version and task name."""
    if not isinstance(config, dict) or config.get("format") not in (FORMAT, LEGACY_FORMAT):
        raise ModelFileError(f"{directory}: not an rnnkit model (config.json has no format {FORMAT!r})")
    version = config.get("format_version")
    if not _whole_number(version) or version < 1:
        raise ModelFileError(f"{directory / 'config.json'}: invalid format_version {version!r}; the file is damaged")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{directory}: saved in model format {version!r} by rnnkit {config.get('rnnkit_version')}; this rnnkit "
            f"({__version__}) reads format {FORMAT_VERSION} and older: upgrade rnnkit"
        )
    if config["format"] == LEGACY_FORMAT or version == 1:
        return "classify"  # rnnkit 0.1 saved classifiers only, and named no task
    task = config.get("task")
    if not isinstance(task, str) or tasks.get_or_none(task) is None:
        raise ModelFileError(
            f"{directory}: config.json names task {task!r}; this rnnkit ({__version__}) knows "
            f"{', '.join(tasks.names())}: upgrade rnnkit if the model is newer"
        )
    return task


def check_labels(labels: Any) -> list[str]:
    """``labels`` if it is a list of at least two distinct strings, as a model's labels must be; else ValueError."""
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ValueError("labels must be a list of strings")
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise ValueError("labels must be at least two distinct names")
    return labels


def check_max_length(max_length: Any) -> int | None:
    """``max_length`` if it is a positive integer or ``None``; else ValueError."""
    if max_length is not None and (not _whole_number(max_length) or max_length < 1):
        raise ValueError(f"max_length must be a positive integer or null, got {max_length!r}")
    return max_length


def tokenizer_from_settings(settings: Any) -> Tokenizer:
    """:func:`rnnkit.text.tokenizer_from_dict`, refusing settings that are not an object (ValueError)."""
    if not isinstance(settings, dict) or not isinstance(settings.get("kind"), str):
        raise ValueError(f"tokenizer must be an object with a 'kind', got {settings!r:.80}")
    return tokenizer_from_dict(settings)
