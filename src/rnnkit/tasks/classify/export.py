"""A classifier exported as one ONNX file and read back: its graph (:mod:`rnnkit.tasks.classify.graph`) with the
labels, truncation length, sub-word settings and training columns as metadata; the check of onnxruntime against the
torch network on random padded batches; and the reading of such a file into a torch-free
:class:`~rnnkit.runtime.OnnxPredictor`."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from rnnkit.errors import ModelFileError
from rnnkit.exported import FLOAT, INT64, ExportedFile, check_graph, trial
from rnnkit.modeldir import SavedModel, check_labels, check_max_length
from rnnkit.onnxsessions import session_options
from rnnkit.options import MAX_SUBWORDS
from rnnkit.tasks.classify.predictor import OnnxPredictor, classifier_inputs
from rnnkit.text import UNK_ID
from rnnkit.text.spellings import Spellings
from rnnkit.text.subwords import MAX_WORD_CHARS, Subwords

INPUTS = {"ids": INT64, "lengths": INT64}
OUTPUTS = {"probabilities": FLOAT}


def metadata(saved: SavedModel) -> dict[str, str]:
    """What a reader of the file needs beside the graph and the shared metadata, as JSON strings."""
    subwords = Subwords.of(saved.config)
    spelled = (
        "; forms: int64 [batch, steps], each token's row of ngrams (0 at padding); ngrams: int64 [words, n], the "
        "buckets of each distinct token's character n-grams (metadata 'subwords'), padded with 0, row 0 all 0"
    )
    return {
        "labels": json.dumps(saved.labels, ensure_ascii=False),
        "max_length": json.dumps(saved.max_length),
        "data_columns": json.dumps(saved.training.get("data_columns"), ensure_ascii=False),
        **({"subwords": json.dumps(subwords.to_dict())} if subwords is not None else {}),
        "inputs": "ids: int64 [batch, steps], token ids padded with 0 (<pad>), unknown words 1 (<unk>); "
        "lengths: int64 [batch], each in 1..steps" + (spelled if subwords is not None else ""),
        "outputs": "probabilities: float32 [batch, classes], columns in the order of labels",
    }


def graph(saved: SavedModel, shared: dict[str, str]) -> Any:
    from rnnkit.tasks.classify.graph import classifier_graph

    return classifier_graph(saved.config, saved.weights, {**shared, **metadata(saved)})


def random_batches(vocab_size: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Padded batches of random ids: one text, equal lengths, ragged lengths with 1 and the maximum among them."""
    rng = np.random.default_rng(seed)
    batches = []
    for batch, steps in ((1, 1), (1, 7), (5, 12), (16, 30), (3, 64)):
        lengths = rng.integers(1, steps + 1, batch)
        lengths[0] = steps
        if batch > 2:
            lengths[1] = 1
        ids = rng.integers(1, vocab_size, (batch, steps))
        ids[np.arange(steps)[None, :] >= lengths[:, None]] = 0
        batches.append((ids, lengths))
    batches.append((rng.integers(1, vocab_size, (4, 9)), np.full(4, 9)))  # all T long: torch's one-kernel path
    return batches


def random_spellings(ids: np.ndarray, buckets: int, rng: np.random.Generator) -> Spellings:
    """Sub-words for a batch of ``ids``: each position a random row (row 0, none, at padding) of random n-gram
    buckets, rows of different lengths padded with 0, a full-width row among them."""
    rows = int(rng.integers(2, 8))
    ngrams = rng.integers(1, buckets + 1, (rows, 9))
    ngrams[np.arange(9)[None, :] >= rng.integers(1, 10, rows)[:, None]] = 0
    ngrams[0], ngrams[1] = 0, rng.integers(1, buckets + 1, 9)
    forms = np.where(ids == 0, 0, rng.integers(1, rows, ids.shape))
    return Spellings(forms, ngrams=ngrams)


def difference(saved: SavedModel, model_bytes: bytes) -> float:
    """The largest difference of any probability between onnxruntime on ``model_bytes`` and torch."""
    import onnxruntime

    from rnnkit.tasks.classify.pipeline import Pipeline

    torch_network = Pipeline.from_saved(saved, engine="torch")
    session = onnxruntime.InferenceSession(model_bytes, session_options(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for ids, lengths in random_batches(saved.config.vocab_size):
        spellings = random_spellings(ids, saved.config.subwords, rng) if saved.config.subwords else None
        expected = torch_network.probabilities(ids, lengths, spellings)
        got = session.run(None, classifier_inputs(ids, lengths, spellings))[0]
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def read(exported: ExportedFile) -> OnnxPredictor:
    """An exported classifier: its labels, truncation length, sub-words and columns checked, its graph checked, and
    one trial run on the largest word id (and the largest n-gram bucket), which must give probabilities."""
    try:
        labels = check_labels(exported.value("labels"))
        max_length = check_max_length(exported.value("max_length"))
        raw_subwords = exported.value("subwords", required=False)
        subwords = _subwords(raw_subwords) if raw_subwords is not None else None
        columns = _data_columns(exported.value("data_columns", required=False))
    except (TypeError, ValueError) as e:
        raise exported.invalid(e) from None
    vocab, path = exported.vocab, exported.path
    inputs = INPUTS | ({"forms": INT64, "ngrams": INT64} if subwords is not None else {})
    check_graph(exported, inputs, OUTPUTS, (subwords.buckets + 1,) if subwords is not None else ())
    ids = np.array([[len(vocab) - 1, UNK_ID]], dtype=np.int64)
    spellings = None
    if subwords is not None:  # the largest bucket, and a word with no n-gram
        spellings = Spellings(np.array([[1, 0]]), ngrams=np.array([[0], [subwords.buckets]]))
    session = trial(exported, exported.session)
    first = trial(exported, lambda: session.run(None, classifier_inputs(ids, np.array([2], dtype=np.int64), spellings)))
    probabilities = first[0]
    if not isinstance(probabilities, np.ndarray) or probabilities.shape != (1, len(labels)):
        shape = getattr(probabilities, "shape", type(probabilities).__name__)
        raise ModelFileError(f"{path}: the network gives {shape} for one text; its metadata lists {len(labels)} labels")
    if not np.isfinite(probabilities).all() or abs(float(probabilities.sum()) - 1) > 1e-3:
        raise ModelFileError(
            f"{path}: the network does not give probabilities ({probabilities[0].tolist()}); it is damaged"
        )

    def run(ids: np.ndarray, lengths: np.ndarray, spellings: Spellings | None = None) -> np.ndarray:
        return session.run(None, classifier_inputs(ids, lengths, spellings))[0]

    predictor = OnnxPredictor(exported.tokenizer, vocab, labels, max_length, run, str(path), subwords)
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
