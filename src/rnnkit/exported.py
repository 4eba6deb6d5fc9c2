"""An ONNX file written by ``rnnkit export``, read back as a model: checked, then run by onnxruntime without torch.

The file carries the network and, as metadata, its task, the tokenizer, the vocabulary and what else the task needs
(:mod:`rnnkit.export`), so ``rnnkit predict``, ``rnnkit evaluate`` and ``rnnkit.load`` take it in place of a model
directory. It may come from anyone: everything is checked before use, and any failure is one line. What is the same
for every task is checked here (size, ONNX, format, version, task, the checksum of its graph and metadata, the
tokenizer and vocabulary, the graph's operators and weights); the task reads the rest
(:meth:`rnnkit.tasks.Task.read_exported`, with :func:`check_graph` and :func:`trial`).

The checksum (metadata ``sha256``) covers the serialized graph, every weight in it, and every other metadata entry:
a flipped byte anywhere a reader would use is refused. Files exported before it existed load with a warning that
they cannot be checked.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit import tasks
from rnnkit.errors import ModelFileError, RnnkitError, RnnkitWarning
from rnnkit.modeldir import FILES, FORMAT, FORMAT_VERSION, LEGACY_FORMAT, tokenizer_from_settings
from rnnkit.onnxsessions import session_options
from rnnkit.text import Tokenizer, Vocab

INT64, FLOAT = 7, 1  # onnx.TensorProto's element types, named without importing onnx
MAX_EXPORTED_BYTES = 2**31 - 1  # protobuf reads no message over 2 GiB, so no exported model is larger
CHECKSUM = "sha256"  # the metadata entry holding the checksum of everything else (checksum())
# The operators rnnkit's graphs use (tests hold every network to this list). Anything else in a file is not
# ours; refusing it also refuses operators that loop (Loop, Scan) or read other files.
OPERATORS = frozenset(
    ["Add", "Cast", "Concat", "Div", "Gather", "Gemm", "GRU", "Identity", "Less", "LogSoftmax", "LSTM", "MatMul"]
    + ["Max", "Mean", "Mul", "Range", "ReduceMax", "ReduceSum", "Reshape", "RNN", "Shape", "Softmax", "Squeeze"]
    + ["Tanh", "TopK", "Transpose", "Unsqueeze", "Where"]
)


@dataclass
class ExportedFile:
    """An exported file's parts, read and checked where they are the same for every task; the task reads the rest:
    ``meta`` maps each metadata key to its raw string (:meth:`value` parses one as JSON, refusing a bad one)."""

    path: Path
    data: bytes
    model: Any  # onnx.ModelProto
    meta: dict[str, str]
    tokenizer: Tokenizer | None  # None for a task without vocabularies (a translator's sub-words are its own)
    vocab: Vocab | None

    def value(self, key: str, default: Any = None, required: bool = True) -> Any:
        """The metadata entry ``key`` as JSON; a missing required one, or bad JSON, is a one-line error."""
        if key not in self.meta:
            if required:
                raise ModelFileError(
                    f"{self.path}: its metadata has no {key!r}; export the model again with 'rnnkit export'"
                )
            return default
        try:
            return json.loads(self.meta[key])
        except (ValueError, RecursionError) as e:
            raise ModelFileError(f"{self.path}: metadata {key!r} is not valid JSON ({first_line(e)})") from None

    def invalid(self, error: BaseException) -> ModelFileError:
        """The one-line error of metadata that does not hold together."""
        return ModelFileError(f"{self.path}: invalid metadata ({first_line(error)})")

    def session(self) -> Any:
        """An onnxruntime session of the file's graph (its fatal errors raised, and reported once, by the caller)."""
        import onnxruntime

        return onnxruntime.InferenceSession(self.data, session_options(log_level=4), providers=["CPUExecutionProvider"])


def is_exported(path: str | Path) -> bool:
    """Whether ``path`` names an exported model file rather than a model directory: a file, or a missing ``.onnx``."""
    path = Path(path)
    return path.is_file() or (not path.exists() and path.suffix.lower() == ".onnx")


def first_line(error: BaseException, limit: int = 200) -> str:
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return text if len(text) <= limit else text[:limit] + "..."


def checksum(model: Any) -> str:
    """The SHA-256 of an ONNX model's serialized graph (nodes and every weight) and of its metadata but the
    checksum's own entry, in key order."""
    digest = hashlib.sha256(model.graph.SerializeToString())
    for prop in sorted(model.metadata_props, key=lambda p: str(p.key)):
        if prop.key == CHECKSUM:
            continue
        for part in (prop.key, prop.value):  # a damaged file's strings may not decode: their bytes, then
            data = part if isinstance(part, bytes) else part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def load_exported(path: str | Path) -> Any:
    """An ONNX file written by ``rnnkit export``, checked, ready to run on onnxruntime: its task's torch-free model
    (a classifier predicts and evaluates, a language model writes and evaluates, a tagger tags and evaluates ...).

    The file may come from anyone, so before it is used: its size; that it parses as ONNX; its metadata (``format``,
    version, task, checksum, tokenizer, vocabulary, and what its task needs, each of the right type); its graph's
    inputs, outputs and operators, no weight read from another file, an embedding with a row per word; and a trial
    run. Any failure is a one-line ``ModelFileError``. An ONNX graph is a program: these checks catch damaged,
    edited and foreign files, not a graph crafted to make onnxruntime itself misbehave.
    """
    path = Path(path)
    try:
        import onnx
        import onnxruntime  # noqa: F401  (the file runs on it: said now, not after it has been read)
        from google.protobuf.message import DecodeError
    except (ImportError, OSError):
        raise RnnkitError(
            f"{path}: an exported model runs on onnxruntime, which is not installed: pip install 'rnnkit[onnx]'"
        ) from None
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file; write one with 'rnnkit export MODEL_DIR {path.name}'")
    if path.name in FILES:
        raise ModelFileError(f"{path}: one file of a model directory; give the directory, {path.parent}")
    if path.stat().st_size > MAX_EXPORTED_BYTES:
        raise ModelFileError(f"{path}: {path.stat().st_size} bytes is too large for an ONNX model (2 GiB at most)")
    data = path.read_bytes()
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError, RecursionError) as e:
        reason = first_line(e)
        raise ModelFileError(f"{path}: not an ONNX file ({reason}); the file is damaged or not a model") from None
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get("format") not in (FORMAT, LEGACY_FORMAT):
        raise ModelFileError(f"{path}: not a model exported by rnnkit (its metadata has no format {FORMAT!r})")
    task = tasks.get_or_none(meta.get("task", "classify"))  # rnnkit 0.1's files name no task: classifiers
    if task is None:
        raise ModelFileError(
            f"{path}: an exported {meta.get('task')!r} model; this rnnkit reads {', '.join(tasks.names())} models"
        )
    _check_checksum(path, model, meta)
    exported = ExportedFile(path, data, model, meta, None, None)  # type: ignore[arg-type]
    version = exported.value("format_version", 1, required=False)  # rnnkit 0.1's files have none: version 1
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{path}: invalid metadata format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: exported in model format {version}; this rnnkit reads {FORMAT_VERSION}: upgrade rnnkit"
        )
    if task.vocabularies:
        tokenizer, vocab = exported.value("tokenizer"), exported.value("vocab")
        try:
            exported.tokenizer = tokenizer_from_settings(tokenizer)
            exported.vocab = Vocab.from_dict({"tokens": vocab})
        except (TypeError, ValueError) as e:
            raise exported.invalid(e) from None
    return task.read_exported(exported)


def _check_checksum(path: Path, model: Any, meta: dict[str, str]) -> None:
    """Refuse a file whose graph, weights or metadata do not match its checksum; warn, once per file, that a file
    exported before checksums cannot be checked."""
    if CHECKSUM not in meta:
        warnings.warn(
            f"{path} was exported by an older rnnkit and carries no checksum, so damage to it cannot be detected; "
            "export it again to have one",
            RnnkitWarning,
            stacklevel=4,
        )
        return
    if meta[CHECKSUM] != checksum(model):
        raise ModelFileError(f"{path}: the checksum does not match the graph and metadata; the file is damaged")


def check_graph(
    exported: ExportedFile,
    inputs: dict[str, int],
    outputs: dict[str, int],
    tables: tuple[int, ...] = (),
) -> None:
    """The graph of an exported file: the ``inputs`` and ``outputs`` its task has (name: element type), rnnkit's
    operators only, every weight inside the file, and an embedding (a float matrix gathered) of one row per word
    (or, for another table, as many rows as ``tables`` allows: a character table's alphabet, a sub-word table's
    buckets and padding)."""
    from onnx import TensorProto

    path, graph = exported.path, exported.model.graph
    vocab_size = len(exported.vocab) if exported.vocab is not None else None
    initializers = {t.name: t for t in graph.initializer}
    found_inputs = {i.name: i.type.tensor_type.elem_type for i in graph.input if i.name not in initializers}
    found_outputs = {o.name: o.type.tensor_type.elem_type for o in graph.output}
    if found_inputs != inputs:
        raise ModelFileError(f"{path}: the graph must take {', '.join(inputs)}; it takes {sorted(found_inputs)}")
    if found_outputs != outputs:
        raise ModelFileError(f"{path}: the graph must give {', '.join(outputs)}; it gives {sorted(found_outputs)}")
    foreign = sorted(
        {
            f"{n.domain}.{n.op_type}" if n.domain else n.op_type
            for n in graph.node
            if n.op_type not in OPERATORS or n.domain
        }
    )
    if foreign:
        raise ModelFileError(f"{path}: the graph uses operators rnnkit never writes: {', '.join(foreign[:5])}")
    tensors = [*graph.initializer, *(t for s in graph.sparse_initializer for t in (s.values, s.indices))]
    tensors += [t for node in graph.node for a in node.attribute for t in (a.t, *a.tensors)]
    if any(t.data_location == TensorProto.EXTERNAL or t.external_data for t in tensors):
        raise ModelFileError(f"{path}: the graph reads weights from other files; an exported model holds them all")
    for node in graph.node:
        table = initializers.get(node.input[0]) if node.op_type == "Gather" and node.input else None
        embedding = table is not None and table.data_type == TensorProto.FLOAT and len(table.dims) == 2
        if embedding and table.dims[0] not in (vocab_size, *tables):
            raise ModelFileError(
                f"{path}: the network's embedding has {table.dims[0]} rows but the metadata's vocabulary "
                f"lists {vocab_size or tables[0]} words; the file was edited or damaged"
            )


def trial(exported: ExportedFile, run: Callable[[], Any]) -> Any:
    """``run()`` (a first call of the file's network), its failure a one-line error: what onnxruntime cannot run
    is damaged or foreign."""
    try:
        return run()
    except Exception as e:  # onnxruntime's errors share no base class short of Exception
        raise ModelFileError(f"{exported.path}: onnxruntime cannot run it ({first_line(e)})") from None
