"""An ONNX file written by ``rnnkit export``, read back as a model: checked, then run by onnxruntime without torch.

The file carries the network and, as metadata, the labels (or tags), tokenizer, vocabulary and what else its task
needs (:mod:`rnnkit.export`), so ``rnnkit predict``, ``rnnkit evaluate`` and ``rnnkit.load`` take it in place of a model
directory. It may come from anyone: everything is checked before use, and any failure is one line. A model kind
that gains an export gains this too: its file is read here, by the ``format`` in its metadata.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.errors import ModelFileError, RnnkitError
from rnnkit.generator import OnnxGenerator, OnnxLanguageModelSession
from rnnkit.modeldir import (
    FILES,
    FORMAT,
    FORMAT_VERSION,
    LEGACY_FORMAT,
    check_labels,
    check_max_length,
    tokenizer_from_settings,
)
from rnnkit.onnxsessions import session_options
from rnnkit.options import MAX_SUBWORDS
from rnnkit.runtime import OnnxPredictor, classifier_inputs
from rnnkit.tagger import OnnxTagger, OnnxTaggerSession
from rnnkit.tasks.lm.config import LanguageModelConfig
from rnnkit.tasks.tag.config import TaggerConfig
from rnnkit.text import UNK_ID, Vocab
from rnnkit.text.sentences import SentenceBatch
from rnnkit.text.spellings import Spellings
from rnnkit.text.subwords import MAX_WORD_CHARS, Subwords

INT64, FLOAT = 7, 1  # onnx.TensorProto's element types, named without importing onnx
CLASSIFIER_INPUTS = {"ids": INT64, "lengths": INT64}
CLASSIFIER_OUTPUTS = {"probabilities": FLOAT}

MAX_EXPORTED_BYTES = 2**31 - 1  # protobuf reads no message over 2 GiB, so no exported model is larger
# The operators rnnkit.onnxgraph writes (tests hold every network to this list). Anything else in a file is not
# ours; refusing it also refuses operators that loop (Loop, Scan) or read other files.
OPERATORS = frozenset(
    ["Add", "Cast", "Concat", "Div", "Gather", "Gemm", "GRU", "Identity", "Less", "LSTM", "MatMul", "Max", "Mean"]
    + ["Mul", "Range"]
    + ["ReduceMax", "ReduceSum", "Reshape", "RNN", "Shape", "Softmax", "Transpose", "Unsqueeze", "Where"]
)


def is_exported(path: str | Path) -> bool:
    """Whether ``path`` names an exported model file rather than a model directory: a file, or a missing ``.onnx``."""
    path = Path(path)
    return path.is_file() or (not path.exists() and path.suffix.lower() == ".onnx")


def _first_line(error: BaseException, limit: int = 200) -> str:
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return text if len(text) <= limit else text[:limit] + "..."


def load_exported(path: str | Path) -> OnnxPredictor | OnnxGenerator | OnnxTagger:
    """An ONNX file written by ``rnnkit export``, checked, ready to run on onnxruntime: a classifier's
    :class:`OnnxPredictor` (predicts, evaluates), a language model's :class:`OnnxGenerator` (writes, evaluates) or
    a tagger's :class:`rnnkit.tagger.OnnxTagger` (tags, evaluates).

    The file may come from anyone, so before it is used: its size; that it parses as ONNX; its metadata (``format``,
    the labels, tokenizer, vocabulary and truncation length, each of the right type); its graph's inputs, outputs
    and operators, no weight read from another file, an embedding with a row per word; and one trial run on the
    largest word id, which must give one probability per label. Any failure is a one-line ``ModelFileError``.
    An ONNX graph is a program: these checks catch damaged, edited and foreign files, not a graph crafted to make
    onnxruntime itself misbehave.
    """
    path = Path(path)
    try:
        import onnx
        import onnxruntime
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
        raise ModelFileError(
            f"{path}: not an ONNX file ({_first_line(e)}); the file is damaged or not a model"
        ) from None
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get("format") not in (FORMAT, LEGACY_FORMAT):
        raise ModelFileError(f"{path}: not a model exported by rnnkit (its metadata has no format {FORMAT!r})")
    task = meta.get("task", "classify")  # rnnkit 0.1's files name no task: classifiers
    if task not in ("classify", "lm", "tag"):
        raise ModelFileError(
            f"{path}: an exported {task!r} model; this rnnkit reads classifiers, language models and taggers"
        )
    values = {}
    keys = {"classify": ("labels", "max_length"), "lm": ("model",), "tag": ("model", "labels", "characters", "crf")}[
        task
    ]
    for key in ("format_version", "tokenizer", "vocab", *keys):
        if key not in meta and key != "format_version":  # files from rnnkit 0.1 have no format_version: version 1
            raise ModelFileError(f"{path}: its metadata has no {key!r}; export the model again with 'rnnkit export'")
        try:
            values[key] = json.loads(meta.get(key, "1"))
        except (ValueError, RecursionError) as e:
            raise ModelFileError(f"{path}: metadata {key!r} is not valid JSON ({_first_line(e)})") from None
    version = values["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{path}: invalid metadata format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: exported in model format {version}; this rnnkit reads {FORMAT_VERSION}: upgrade rnnkit"
        )
    try:
        tokenizer = tokenizer_from_settings(values["tokenizer"])
        vocab = Vocab.from_dict({"tokens": values["vocab"]})
        if task == "lm":
            if not isinstance(values["model"], dict):
                raise ValueError("model must be an object")
            config = LanguageModelConfig.from_dict(values["model"])
            if config.vocab_size != len(vocab):
                raise ValueError(
                    f"the model was built for {config.vocab_size} tokens, the vocabulary lists {len(vocab)}"
                )
        elif task == "classify":
            labels = check_labels(values["labels"])
            max_length = check_max_length(values["max_length"])
            subwords = _subwords(json.loads(meta["subwords"])) if "subwords" in meta else None
            columns = _data_columns(json.loads(meta["data_columns"])) if "data_columns" in meta else None
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: invalid metadata ({_first_line(e)})") from None
    if task == "lm":
        return _language_model(path, model.graph, data, tokenizer, vocab, config)
    if task == "tag":
        return _tagger(path, model.graph, data, tokenizer, vocab, values)
    inputs = CLASSIFIER_INPUTS | ({"forms": INT64, "ngrams": INT64} if subwords is not None else {})
    tables = (subwords.buckets + 1,) if subwords is not None else ()
    _check_graph(model.graph, len(vocab), path, inputs, CLASSIFIER_OUTPUTS, tables)
    options = session_options(log_level=4)  # fatal only: the error is raised, and reported once, below
    ids = np.array([[len(vocab) - 1, UNK_ID]], dtype=np.int64)
    spellings = None
    if subwords is not None:  # the largest bucket, and a word with no n-gram
        spellings = Spellings(np.array([[1, 0]]), ngrams=np.array([[0], [subwords.buckets]]))
    try:
        session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        trial = session.run(None, classifier_inputs(ids, np.array([2], dtype=np.int64), spellings))[0]
    except Exception as e:  # onnxruntime's errors share no base class short of Exception
        raise ModelFileError(f"{path}: onnxruntime cannot run it ({_first_line(e)})") from None
    if not isinstance(trial, np.ndarray) or trial.shape != (1, len(labels)):
        shape = getattr(trial, "shape", type(trial).__name__)
        raise ModelFileError(f"{path}: the network gives {shape} for one text; its metadata lists {len(labels)} labels")
    if not np.isfinite(trial).all() or abs(float(trial.sum()) - 1) > 1e-3:
        raise ModelFileError(f"{path}: the network does not give probabilities ({trial[0].tolist()}); it is damaged")

    def run(ids: np.ndarray, lengths: np.ndarray, spellings: Spellings | None = None) -> np.ndarray:
        return session.run(None, classifier_inputs(ids, lengths, spellings))[0]

    predictor = OnnxPredictor(tokenizer, vocab, labels, max_length, run, str(path), subwords)
    predictor.data_columns = columns
    return predictor


def _data_columns(value: Any) -> dict[str, Any] | None:
    """The training file's columns in an exported classifier's metadata, checked: names as strings."""
    if value is None:
        return None
    texts = value.get("text_columns") if isinstance(value, dict) else None
    label = value.get("label_column") if isinstance(value, dict) else None
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts) or not isinstance(label, str | None):
        raise ValueError("data_columns must name text columns and a label column")
    return {"text_columns": texts, "label_column": label}


def _subwords(value: Any) -> Subwords:
    """An exported classifier's sub-word settings, checked: whole numbers in range."""
    if not isinstance(value, dict) or set(value) != {"buckets", "min_n", "max_n"}:
        raise ValueError("subwords must be an object of buckets, min_n and max_n")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
        raise ValueError("subwords must hold whole numbers")
    if not 1 <= value["buckets"] <= MAX_SUBWORDS or not 1 <= value["min_n"] <= value["max_n"] <= MAX_WORD_CHARS + 2:
        raise ValueError(f"subwords out of range: {value}")
    return Subwords(value["buckets"], value["min_n"], value["max_n"])


def _language_model(
    path: Path, graph: Any, data: bytes, tokenizer: Any, vocab: Vocab, config: LanguageModelConfig
) -> OnnxGenerator:
    """An exported language model, its graph checked and tried on the largest token id from the start state."""
    import onnxruntime

    states = ["h", "c"] if config.cell == "lstm" else ["h"]
    inputs = {"ids": INT64} | {f"{s}0": FLOAT for s in states}
    outputs = {"logits": FLOAT} | {f"{s}n": FLOAT for s in states}
    _check_graph(graph, len(vocab), path, inputs, outputs, (config.subwords + 1,) if config.subwords else ())
    options = session_options(log_level=4)
    try:
        session = OnnxLanguageModelSession(
            config, onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        )
        logits, _ = session(np.array([[len(vocab) - 1]], dtype=np.int64), None)
    except Exception as e:  # onnxruntime's errors share no base class short of Exception
        raise ModelFileError(f"{path}: onnxruntime cannot run it ({_first_line(e)})") from None
    if not isinstance(logits, np.ndarray) or logits.shape != (1, 1, len(vocab)) or not np.isfinite(logits).all():
        shape = getattr(logits, "shape", type(logits).__name__)
        raise ModelFileError(f"{path}: the network gives {shape} scores for one token, not {len(vocab)} finite ones")
    return OnnxGenerator(tokenizer, vocab, config, session)


def _tagger(path: Path, graph: Any, data: bytes, tokenizer: Any, vocab: Vocab, values: dict[str, Any]) -> OnnxTagger:
    """An exported tagger: its metadata (configuration, tags, alphabet, CRF) checked against each other and the
    graph, and one trial run on the largest word id and character id."""
    import onnxruntime

    try:
        if not isinstance(values["model"], dict):
            raise ValueError("model must be an object")
        config = TaggerConfig.from_dict(values["model"])
        tags = check_labels(values["labels"])
        characters = Vocab.from_dict({"tokens": values["characters"]}) if config.alphabet_size else None
        crf = _crf(values["crf"], len(tags)) if config.crf else None
        if config.vocab_size != len(vocab) or config.num_tags != len(tags):
            raise ValueError(f"the model was built for {config.vocab_size} words and {config.num_tags} tags")
        if characters is not None and len(characters) != config.alphabet_size:
            raise ValueError(f"the model was built for {config.alphabet_size} characters, not {len(characters)}")
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: invalid metadata ({_first_line(e)})") from None
    inputs = {"ids": INT64, "lengths": INT64}
    if characters is not None or config.subwords:
        inputs["forms"] = INT64
    if characters is not None:
        inputs |= {"chars": INT64, "char_lengths": INT64}
    if config.subwords:
        inputs["ngrams"] = INT64
    tables = (config.alphabet_size, config.subwords + 1)
    _check_graph(graph, len(vocab), path, inputs, {"scores": FLOAT}, tables)
    options = session_options(log_level=4)
    largest = max(len(characters) - 1, 1) if characters is not None else 1
    batch = SentenceBatch(
        np.array([[len(vocab) - 1, UNK_ID]]), np.array([2]), np.array([[0, 1]]), np.array([[largest], [1]]),
        np.array([1, 1]), None, np.array([[config.subwords], [0]]) if config.subwords else None,
    )  # fmt: skip
    try:
        session = OnnxTaggerSession(
            onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"]),
            characters is not None,
            bool(config.subwords),
        )
        trial = session(batch)
    except Exception as e:  # onnxruntime's errors share no base class short of Exception
        raise ModelFileError(f"{path}: onnxruntime cannot run it ({_first_line(e)})") from None
    if not isinstance(trial, np.ndarray) or trial.shape != (1, 2, len(tags)) or not np.isfinite(trial).all():
        shape = getattr(trial, "shape", type(trial).__name__)
        raise ModelFileError(f"{path}: the network gives {shape} scores for two tokens, not {len(tags)} finite each")
    return OnnxTagger(tokenizer, vocab, characters, tags, config, session, crf, str(path))


def _crf(value: Any, tags: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A CRF's arrays from an exported tagger's metadata, checked: finite, ``[K, K]``, ``[K]``, ``[K]``."""
    if not isinstance(value, dict) or set(value) != {"transitions", "start", "end"}:
        raise ValueError("crf must be an object of transitions, start and end")
    arrays = tuple(np.asarray(value[k], dtype=np.float32) for k in ("transitions", "start", "end"))
    if [a.shape for a in arrays] != [(tags, tags), (tags,), (tags,)] or not all(np.isfinite(a).all() for a in arrays):
        raise ValueError(f"crf must hold finite scores for {tags} tags")
    return arrays  # type: ignore[return-value]


def _check_graph(
    graph: Any,
    vocab_size: int,
    path: Path,
    inputs: dict[str, int],
    outputs: dict[str, int],
    tables: tuple[int, ...] = (),
) -> None:
    """The graph of an exported file: the ``inputs`` and ``outputs`` its task has (name: element type), rnnkit's
    operators only, every weight inside the file, and an embedding (a float matrix gathered) of one row per word
    (or, for another table, as many rows as ``tables`` allows: a character table's alphabet, a sub-word table's
    buckets and padding)."""
    from onnx import TensorProto

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
                f"lists {vocab_size} words; the file was edited or damaged"
            )
