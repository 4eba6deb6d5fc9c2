"""A translator exported as one ONNX file and read back.

Beam search loops in NumPy around two graphs (:mod:`rnnkit.tasks.translate.graph`), so the file holds both: the
encoder is the file's graph, and the decoder step is a second ONNX model kept in the metadata (``step_graph``,
base64), with both sub-word models (``source.spm``, ``target.spm``, base64), the network's settings and how it
searches. The file's checksum covers every metadata entry, so the step graph and the sub-word models are as
protected as the encoder; reading checks the step graph as strictly as the file's own (operators, no outside
weights, an embedding of one row per piece) before either runs.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from rnnkit.errors import ModelFileError, RnnkitError
from rnnkit.exported import FLOAT, INT64, MAX_EXPORTED_BYTES, ExportedFile, check_graph, first_line, trial
from rnnkit.modeldir import SavedModel
from rnnkit.tasks.translate.config import TranslatorConfig
from rnnkit.tasks.translate.pieces import EOS_ID, pieces_of
from rnnkit.tasks.translate.translator import Decoding, decoding_of, pad

STEP_INPUTS = ("tokens", "feed", "memory", "keys", "lengths", "k")
STEP_OUTPUTS = ("log_probs", "best_log_probs", "eos_log_prob", "feed_out", "weights")


def _encoded(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def metadata(saved: SavedModel) -> dict[str, str]:
    source, target = pieces_of(saved, "the model directory")
    from rnnkit.tasks.translate.graph import step_graph

    step = step_graph(saved.config, saved.weights)
    return {
        "model": json.dumps(saved.config.to_dict()),
        "decoding": json.dumps(asdict(decoding_of(saved.training))),
        "source.spm": _encoded(source.model),
        "target.spm": _encoded(target.model),
        "step_graph": _encoded(step.SerializeToString()),
        "inputs": "the encoder (this graph): ids int64 [batch, steps], the source's SentencePiece ids (source.spm, "
        "base64) padded with 0; lengths int64 [batch]. The decoder step (step_graph, base64 ONNX): tokens int64 "
        "[rows], the previous target piece (2: <s>); h (c for an LSTM) float [rows, layers, hidden] and feed float "
        "[rows, attentional] (zeros at first); memory, keys, lengths: the encoder's, a row per hypothesis; k int64 [1]",
        "outputs": "encoder: memory, keys, h (c): the decoder's first state. step: log_probs [rows, target pieces], "
        "best_log_probs and best_tokens [rows, k] (never <pad>, <unk> or <s>), eos_log_prob [rows] (3: </s>), "
        "h_out (c_out), feed_out (the next step's state), weights [rows, steps] (attention over the source)",
    }


def graph(saved: SavedModel, shared: dict[str, str]) -> Any:
    """The encoder's graph, with the step graph and everything else in its metadata."""
    import onnx

    from rnnkit.tasks.translate.graph import encoder_graph

    model = encoder_graph(saved.config, saved.weights)
    onnx.helper.set_model_props(model, {**shared, **metadata(saved)})
    return model


def made_up_sources(vocab_size: int, seed: int = 0) -> list[list[int]]:
    """Sources of 1 to 30 made-up piece ids, every one a real piece (ids from 4 up)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(4, vocab_size, n).tolist() for n in (1, 7, 30, 3, 12)]


def difference(saved: SavedModel, model_bytes: bytes) -> float:
    """The largest difference between onnxruntime on the exported file and torch: the encoder's outputs, then two
    decoder steps' log-probabilities, states and attention, on made-up sources of ragged lengths."""
    from rnnkit.tasks.translate.pipeline import TranslatorPipeline

    model = _parse(model_bytes)
    meta = {p.key: p.value for p in model.metadata_props}
    exported = read(ExportedFile(Path("the exported graph"), model_bytes, model, meta, None, None))
    torch_side = TranslatorPipeline.from_saved(saved, engine="torch")
    ids, lengths = pad(made_up_sources(saved.config.source_vocab_size))
    worst = 0.0
    (state_a, context_a), (state_b, context_b) = exported.encode(ids, lengths), torch_side.encode(ids, lengths)
    for name in context_a:
        worst = max(worst, float(np.abs(context_a[name] - context_b[name]).max()))
    tokens = np.full(len(ids), 2, dtype=np.int64)
    for _ in range(2):
        log_a, state_a, weights_a = exported.attend(tokens, state_a, context_a)
        log_b, state_b, weights_b = torch_side.attend(tokens, state_b, context_b)
        worst = max(worst, float(np.abs(log_a - log_b).max()), float(np.abs(weights_a - weights_b).max()))
        worst = max(worst, *(float(np.abs(state_a[k] - state_b[k]).max()) for k in state_a))
        tokens = log_b.argmax(axis=1)
    return worst


def _parse(data: bytes) -> Any:
    import onnx

    model = onnx.ModelProto()
    model.ParseFromString(data)
    return model


def _bytes(exported: ExportedFile, key: str) -> bytes:
    """A base64 metadata entry's bytes."""
    if key not in exported.meta:
        raise ModelFileError(f"{exported.path}: its metadata has no {key!r}; export the model again")
    if len(exported.meta[key]) > MAX_EXPORTED_BYTES:
        raise ModelFileError(f"{exported.path}: metadata {key!r} is too large")
    try:
        return base64.b64decode(exported.meta[key], validate=True)
    except (binascii.Error, ValueError) as e:
        raise ModelFileError(f"{exported.path}: metadata {key!r} is not base64 ({first_line(e)})") from None


def read(exported: ExportedFile) -> Any:
    """An exported translator: its settings, sub-word models and decoding checked against each other, both graphs
    checked, and one trial of each on the largest piece ids."""
    from google.protobuf.message import DecodeError

    from rnnkit.tasks.translate.graph import OnnxTranslator

    path = exported.path
    try:
        settings = exported.value("model")
        if not isinstance(settings, dict):
            raise ValueError("model must be an object")
        config = TranslatorConfig.from_dict(settings)
        searching = exported.value("decoding")
        if not isinstance(searching, dict):
            raise ValueError("decoding must be an object")
        decoding = Decoding(**searching)
    except (TypeError, ValueError, RnnkitError) as e:
        raise exported.invalid(e) from None
    files = {name: _bytes(exported, name) for name in ("source.spm", "target.spm")}
    source, target = pieces_of(SimpleNamespace(config=config, files=files), str(path))
    step_bytes = _bytes(exported, "step_graph")
    try:
        step_model = _parse(step_bytes)
    except (DecodeError, ValueError, RuntimeError, RecursionError) as e:
        raise ModelFileError(f"{path}: its step_graph is not ONNX ({first_line(e)}); the file is damaged") from None
    states = ["h", "c"][: config.state_parts]
    encoder_outputs = {"memory": FLOAT, "keys": FLOAT, **{name: FLOAT for name in states}}
    check_graph(exported, {"ids": INT64, "lengths": INT64}, encoder_outputs, (config.source_vocab_size,))
    step = ExportedFile(path, step_bytes, step_model, {}, None, None)
    step_inputs = {name: FLOAT for name in (*states, *STEP_INPUTS)} | {"tokens": INT64, "lengths": INT64, "k": INT64}
    step_outputs = {name: FLOAT for name in (*STEP_OUTPUTS, *(f"{name}_out" for name in states))}
    check_graph(step, step_inputs, step_outputs | {"best_tokens": INT64}, (config.target_vocab_size,))
    sessions = (trial(exported, exported.session), trial(exported, step.session))
    translator = OnnxTranslator(config, source, target, None, decoding, sessions=sessions)
    ids = np.array([[config.source_vocab_size - 1, EOS_ID]], dtype=np.int64)
    state, context = trial(exported, lambda: translator.encode(ids, np.array([2])))
    found = trial(exported, lambda: translator.attend(np.array([config.target_vocab_size - 1]), state, context))
    log_probs = found[0]
    if log_probs.shape != (1, config.target_vocab_size) or not np.isfinite(log_probs).all():
        raise ModelFileError(
            f"{path}: the step gives {log_probs.shape} scores, not {config.target_vocab_size} finite ones"
        )
    return translator
