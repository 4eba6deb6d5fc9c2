"""The saved, shareable unit: tokenizer + vocabulary + labels + network, as a directory of plain data.

A model directory holds ``config.json`` (settings, labels, versions, checksums), ``vocab.json`` and
``model.safetensors``. Nothing in it is code: loading never unpickles, and :func:`load` checks every file (format
version, checksums, tensor names and shapes, label count) before a single weight is used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from rnnkit import __version__
from rnnkit.data import EncodedTexts, Examples, encode_texts, read_examples
from rnnkit.errors import DataError, ModelFileError
from rnnkit.io import atomic_write_bytes, atomic_write_json
from rnnkit.models import ClassifierConfig, build_model
from rnnkit.text import Tokenizer, Vocab, tokenizer_from_dict
from rnnkit.training import classification_report, predict_logits

FORMAT = "rnnkit-text-classifier"
FORMAT_VERSION = 1
FILES = ("config.json", "vocab.json", "model.safetensors")
MAX_JSON_BYTES = 256 * 2**20  # a vocabulary of millions of words fits; a runaway file does not


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Pipeline:
    """A trained text classifier: raw strings in, labels and probabilities out."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        vocab: Vocab,
        labels: list[str],
        model: nn.Module,
        model_config: ClassifierConfig,
        max_length: int | None = None,
        training: dict[str, Any] | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.labels = list(labels)
        self.model = model.eval()
        self.model_config = model_config
        self.max_length = max_length
        self.training = training or {}
        self.report: dict[str, Any] | None = None  # the test report, after rnnkit.train(..., test=...)
        self.run_dir: Path | None = None  # where rnnkit.train saved it

    def __repr__(self) -> str:
        c = self.model_config
        kind = "bag of embeddings" if c.model == "bag" else f"{'bi' if c.bidirectional else ''}{c.cell.upper()}"
        members = f" x {c.members}" if c.members > 1 else ""
        return f"Pipeline({kind}{members}, {len(self.vocab)} words, labels={self.labels})"

    # ------------------------------------------------------------------------------------ prediction
    def encode(self, texts: Sequence[str]) -> EncodedTexts:
        """Tokenise, truncate and encode texts exactly as in training."""
        return encode_texts(texts, self.tokenizer, self.vocab, self.max_length)

    def label_indices(self, labels: Iterable[str], source: str = "the data") -> list[int]:
        labels = list(labels)  # read twice below: a generator would be empty the second time
        index = {label: i for i, label in enumerate(self.labels)}
        unknown = sorted({label for label in labels if label not in index})
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise DataError(
                f"{source}: label(s) {shown} never seen in training; the model knows {', '.join(self.labels)}"
            )
        return [index[label] for label in labels]

    def predict_proba(self, texts: Sequence[str] | str, batch_size: int = 256) -> np.ndarray:
        """Class probabilities ``[N, C]``, columns in the order of ``self.labels``."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        logits = predict_logits(self.model, self.encode(texts), batch_size)
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, texts: Sequence[str] | str, batch_size: int = 256) -> list[str]:
        """The most probable label of each text."""
        return [self.labels[i] for i in self.predict_proba(texts, batch_size).argmax(1)]

    def evaluate(self, data: str | Path | Examples, **read_options: Any) -> dict[str, Any]:
        """Accuracy, macro-F1, per-class figures and the confusion matrix on a labelled file or ``Examples``."""
        examples = data if isinstance(data, Examples) else read_examples(data, **read_options)
        if examples.labels is None:
            raise DataError(f"{examples.source}: no labels to evaluate against")
        truth = self.label_indices(examples.labels, examples.source)
        predicted = self.predict_proba(examples.texts).argmax(1)
        report = classification_report(truth, predicted, self.labels)
        report["source"] = examples.source
        report["skipped_empty"] = examples.skipped_empty
        return report

    # ---------------------------------------------------------------------------------- saving
    def save(self, directory: str | Path) -> Path:
        """Write the three files, each atomically; ``config.json`` last, with the checksums of the other two."""
        directory = Path(directory)
        weights = save_safetensors({k: v.contiguous() for k, v in self.model.state_dict().items()})
        vocab = (json.dumps(self.vocab.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
        atomic_write_bytes(directory / "model.safetensors", weights)
        atomic_write_bytes(directory / "vocab.json", vocab)
        atomic_write_json(
            directory / "config.json",
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "rnnkit_version": __version__,
                "labels": self.labels,
                "tokenizer": self.tokenizer.to_dict(),
                "max_length": self.max_length,
                "model": self.model_config.to_dict(),
                "training": self.training,
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


def load(directory: str | Path) -> Pipeline:
    """Load a model directory written by :meth:`Pipeline.save`, refusing anything damaged or foreign."""
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
        if sums.get(name) != _sha256(data):
            raise ModelFileError(
                f"{directory / name}: checksum does not match config.json; the file is damaged or truncated"
            )
    try:
        labels = config["labels"]
        if not isinstance(labels, list) or len(labels) < 2 or len(set(labels)) != len(labels):
            raise ValueError("labels must be a list of at least two distinct names")
        tokenizer = tokenizer_from_dict(config["tokenizer"])
        vocab = Vocab.from_dict(json.loads(vocab_bytes))
        model_config = ClassifierConfig.from_dict(config["model"])
        max_length = config.get("max_length")
        if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
            raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
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
        tensors = load_safetensors(weight_bytes)
    except (SafetensorError, ValueError, OSError) as e:
        raise ModelFileError(f"{directory / 'model.safetensors'}: not a readable safetensors file ({e})") from None
    model = build_model(model_config)
    expected = model.state_dict()
    if set(tensors) != set(expected):
        missing, extra = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
        raise ModelFileError(
            f"{directory}: weights do not fit the model (missing {missing[:3]}, unexpected {extra[:3]})"
        )
    for name, tensor in tensors.items():
        if tensor.shape != expected[name].shape or tensor.dtype != expected[name].dtype:
            raise ModelFileError(
                f"{directory}: weight {name} has shape {tuple(tensor.shape)} {tensor.dtype}, "
                f"the model expects {tuple(expected[name].shape)} {expected[name].dtype}"
            )
    model.load_state_dict(tensors)
    return Pipeline(tokenizer, vocab, labels, model, model_config, max_length, config.get("training", {}))
