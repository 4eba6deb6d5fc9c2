"""A trained translator's directory: ``config.json``, ``source.spm``, ``target.spm`` and ``model.safetensors``.

The same rules as every rnnkit model directory (:mod:`rnnkit.modeldir`): nothing in it is code (the sub-word
models are SentencePiece's serialized protos, the weights safetensors, the rest JSON), every file is written
atomically and ``config.json`` last, with the checksum of every other file, and reading checks everything (format,
task, checksums, the network's settings, both sub-word models, every weight's name, shape and dtype from the
safetensors header before a byte of weights is read, finiteness) before a weight is used. Reading needs no torch:
:func:`load_translator` runs on onnxruntime where torch is missing.

This is the translation task's own reader and writer until the generic model directory (issue 27) asks the task for
its files; the ``config.json`` is already in the generic format (``format``, ``format_version``, ``task``), so an
rnnkit that does not know translation refuses the directory in one line instead of misreading it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from rnnkit import __version__
from rnnkit.errors import ModelFileError, RnnkitError
from rnnkit.io import atomic_write_bytes, atomic_write_json
from rnnkit.modeldir import FORMAT, FORMAT_VERSION, MAX_JSON_BYTES, WEIGHT_DTYPE, safetensors_header
from rnnkit.tasks.translate.config import TranslatorConfig, translator_shapes
from rnnkit.tasks.translate.pieces import Pieces
from rnnkit.tasks.translate.translator import Decoding, Translator

TASK = "translate"
FILES = ("config.json", "source.spm", "target.spm", "model.safetensors")
ENGINES = ("auto", "torch", "onnx")
MAX_PIECES_BYTES = 64 * 2**20  # a SentencePiece model of a million pieces is about 20 MB


@dataclass
class SavedTranslator:
    """Everything a translator's directory holds, read and checked; ``weights`` as named float32 arrays."""

    config: TranslatorConfig
    source_pieces: Pieces
    target_pieces: Pieces
    weights: dict[str, np.ndarray]
    decoding: Decoding = field(default_factory=Decoding)
    training: dict[str, Any] = field(default_factory=dict)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_translator_dir(directory: str | Path, saved: SavedTranslator, overwrite: bool = False) -> Path:
    """Write the four files, each atomically; ``config.json`` last, with the checksums of the other three. A
    directory that holds a model already is refused unless ``overwrite``."""
    directory = Path(directory)
    if (directory / "config.json").exists() and not overwrite:
        raise RnnkitError(f"{directory}: holds a model already; pass overwrite=True (--overwrite) to replace it")
    weights = save_safetensors({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in saved.weights.items()})
    files = {"source.spm": saved.source_pieces.model, "target.spm": saved.target_pieces.model}
    files["model.safetensors"] = weights
    for name, data in files.items():
        atomic_write_bytes(directory / name, data)
    atomic_write_json(
        directory / "config.json",
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "task": TASK,
            "rnnkit_version": __version__,
            "model": saved.config.to_dict(),
            "decoding": asdict(saved.decoding),
            "training": saved.training,
            "sha256": {name: _sha256(data) for name, data in files.items()},
        },
    )
    return directory


def _read(directory: Path, name: str, limit: int | None = None) -> bytes:
    path = directory / name
    if not path.is_file():
        raise ModelFileError(f"{directory}: missing {name}; a translator's directory needs {', '.join(FILES)}")
    if limit is not None and path.stat().st_size > limit:
        raise ModelFileError(f"{path}: {path.stat().st_size} bytes is too large for a {name}")
    return path.read_bytes()


def _config(directory: Path) -> dict[str, Any]:
    path = directory / "config.json"
    try:
        config = json.loads(_read(directory, "config.json", MAX_JSON_BYTES))
    except (ValueError, RecursionError) as e:
        raise ModelFileError(f"{path}: not valid JSON ({type(e).__name__}); the file is damaged") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{directory}: not an rnnkit model (config.json has no format {FORMAT!r})")
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        raise ModelFileError(f"{path}: format_version {version!r} is not one this rnnkit ({__version__}) reads")
    if config.get("task") != TASK:
        raise ModelFileError(f"{directory}: a {config.get('task')!r} model, not a translator")
    return config


def read_translator_dir(directory: str | Path) -> SavedTranslator:
    """Read a directory written by :func:`write_translator_dir`, refusing anything damaged or foreign."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelFileError(f"{directory}: no such model directory; train one first")
    config = _config(directory)
    data = {name: _read(directory, name, MAX_PIECES_BYTES if name.endswith(".spm") else None) for name in FILES[1:]}
    sums = config.get("sha256")
    for name, content in data.items():
        if not isinstance(sums, dict) or sums.get(name) != _sha256(content):
            raise ModelFileError(f"{directory / name}: checksum does not match config.json; the file is damaged")
    try:
        if not isinstance(config.get("model"), dict):
            raise ValueError("model must be an object")
        model = TranslatorConfig.from_dict(config["model"])
        decoding = Decoding(**config.get("decoding", {}))
        training = config.get("training", {})
        if not isinstance(training, dict):
            raise ValueError("training must be an object")
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{directory / 'config.json'}: invalid ({e})") from None
    source = Pieces(data["source.spm"], str(directory / "source.spm"))
    target = Pieces(data["target.spm"], str(directory / "target.spm"))
    for name, pieces, size in (
        ("source", source, model.source_vocab_size),
        ("target", target, model.target_vocab_size),
    ):
        if len(pieces) != size:
            raise ModelFileError(f"{directory}: {name}.spm has {len(pieces)} pieces but the model was built for {size}")
    return SavedTranslator(
        model, source, target, _weights(directory, model, data["model.safetensors"]), decoding, training
    )


def _weights(directory: Path, config: TranslatorConfig, data: bytes) -> dict[str, np.ndarray]:
    """The weights, checked against the network's shapes from the header before any is read."""
    path = directory / "model.safetensors"
    declared = safetensors_header(data, path)
    expected = translator_shapes(config)
    if set(declared) != set(expected):
        missing, extra = sorted(set(expected) - set(declared)), sorted(set(declared) - set(expected))
        raise ModelFileError(
            f"{directory}: weights do not fit the model (missing {missing[:3]}, unexpected {extra[:3]})"
        )
    for name, (dtype, shape) in declared.items():
        if shape != expected[name] or dtype != WEIGHT_DTYPE:
            raise ModelFileError(
                f"{directory}: weight {name} has shape {shape} {dtype}, the model expects {expected[name]}"
            )
    try:
        weights = load_safetensors(data)
    except (SafetensorError, ValueError, OSError, TypeError) as e:
        raise ModelFileError(f"{path}: not a readable safetensors file ({e})") from None
    for name, array in weights.items():
        if not np.isfinite(array).all():
            raise ModelFileError(f"{directory}: weight {name} holds NaN or infinite values; the file is damaged")
    return weights


def save_translator(
    translator: Any, directory: str | Path, training: dict[str, Any] | None = None, overwrite: bool = False
) -> Path:
    """Save a :class:`~rnnkit.tasks.translate.torch_translator.TorchTranslator` (its network's weights, both
    sub-word models, its decoding settings)."""
    weights = {k: v.detach().cpu().numpy() for k, v in translator.network.state_dict().items()}
    saved = SavedTranslator(
        translator.config,
        translator.source_pieces,
        translator.target_pieces,
        weights,
        translator.decoding,
        training or {},
    )
    return write_translator_dir(directory, saved, overwrite)


def load_translator(directory: str | Path, engine: str = "auto", threads: int | None = None) -> Translator:
    """A saved translator, on onnxruntime (``engine="onnx"``, and ``"auto"`` where onnxruntime is installed: no
    torch needed; ``threads``: its intra-op threads) or on torch."""
    if engine not in ENGINES:
        raise RnnkitError(f"engine must be one of {ENGINES}, got {engine!r}")
    saved = read_translator_dir(directory)
    if engine == "auto":
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            engine = "torch"
        else:
            engine = "onnx"
    if engine == "onnx":
        from rnnkit.tasks.translate.graph import OnnxTranslator

        pieces = (saved.source_pieces, saved.target_pieces)
        return OnnxTranslator(saved.config, *pieces, saved.weights, saved.decoding, threads)
    import torch

    from rnnkit.tasks.translate.network import TranslationNetwork
    from rnnkit.tasks.translate.torch_translator import TorchTranslator

    network = TranslationNetwork(saved.config)
    network.load_state_dict({k: torch.from_numpy(v) for k, v in saved.weights.items()})
    return TorchTranslator(network, saved.source_pieces, saved.target_pieces, saved.decoding)
