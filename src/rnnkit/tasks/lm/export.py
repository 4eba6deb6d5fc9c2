"""A language model exported as one ONNX file and read back: its graph (:mod:`rnnkit.tasks.lm.graph`, its
vocabulary's n-grams inside where it reads sub-words) with its settings as metadata; the check of onnxruntime
against torch reading random text from random states and from the start of a text; and the reading of such a file
into a torch-free :class:`~rnnkit.tasks.lm.generator.OnnxGenerator`."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from rnnkit.errors import ModelFileError
from rnnkit.exported import FLOAT, INT64, ExportedFile, check_graph, trial
from rnnkit.modeldir import SavedModel
from rnnkit.onnxsessions import session_options
from rnnkit.tasks.lm.config import LanguageModelConfig
from rnnkit.tasks.lm.generator import OnnxGenerator, OnnxLanguageModelSession
from rnnkit.text.subwords import vocabulary_ngrams


def metadata(saved: SavedModel) -> dict[str, str]:
    state = "h0 (and c0 for an LSTM): float32 [layers, batch, hidden], zeros at the start of a text"
    return {
        "model": json.dumps(saved.config.to_dict()),
        "inputs": f"ids: int64 [batch, steps], token ids of running text; {state}",
        "outputs": "logits: float32 [batch, steps, vocabulary], the next token's scores after each position; "
        "hn (and cn): the state after the last position, to feed back as h0 (c0)",
    }


def graph(saved: SavedModel, shared: dict[str, str]) -> Any:
    from rnnkit.tasks.lm.graph import language_model_graph

    ngrams = vocabulary_ngrams(saved.config, saved.vocab.tokens)
    return language_model_graph(saved.config, saved.weights, {**shared, **metadata(saved)}, ngrams=ngrams)


def difference(saved: SavedModel, model_bytes: bytes) -> float:
    """The largest difference of any logit or state between onnxruntime on ``model_bytes`` and torch, reading
    random text from random states and from the start of a text."""
    import onnxruntime

    from rnnkit.tasks.lm.pipeline import LanguageModelPipeline

    torch_network = LanguageModelPipeline.from_saved(saved, engine="torch")
    c = saved.config
    graph_session = onnxruntime.InferenceSession(model_bytes, session_options(), providers=["CPUExecutionProvider"])
    session = OnnxLanguageModelSession(c, graph_session)
    rng = np.random.default_rng(0)
    worst = 0.0
    for batch, steps in ((1, 1), (1, 9), (3, 17)):
        ids = rng.integers(0, c.vocab_size, (batch, steps))
        for state in (None, rng.standard_normal((2 if c.cell == "lstm" else 1, c.num_layers, batch, c.hidden_size))):
            if state is not None:
                state = tuple(state.astype(np.float32)) if c.cell == "lstm" else state[0].astype(np.float32)
            expected, expected_state = torch_network.step(ids, state)
            got, got_state = session(ids, state)
            pairs = [(expected, got)] + list(zip(np.atleast_3d(expected_state), np.atleast_3d(got_state), strict=True))
            worst = max(worst, *(float(np.abs(a - b).max()) for a, b in pairs))
    return worst


def read(exported: ExportedFile) -> OnnxGenerator:
    """An exported language model: its settings checked against its vocabulary, its graph checked, and a trial run
    on the largest token id from the start state."""
    vocab, path = exported.vocab, exported.path
    try:
        settings = exported.value("model")
        if not isinstance(settings, dict):
            raise ValueError("model must be an object")
        config = LanguageModelConfig.from_dict(settings)
        if config.vocab_size != len(vocab):
            raise ValueError(f"the model was built for {config.vocab_size} tokens, the vocabulary lists {len(vocab)}")
    except (TypeError, ValueError) as e:
        raise exported.invalid(e) from None
    states = ["h", "c"] if config.cell == "lstm" else ["h"]
    inputs = {"ids": INT64} | {f"{s}0": FLOAT for s in states}
    outputs = {"logits": FLOAT} | {f"{s}n": FLOAT for s in states}
    check_graph(exported, inputs, outputs, (config.subwords + 1,) if config.subwords else ())
    session = trial(exported, lambda: OnnxLanguageModelSession(config, exported.session()))
    logits, _ = trial(exported, lambda: session(np.array([[len(vocab) - 1]], dtype=np.int64), None))
    if not isinstance(logits, np.ndarray) or logits.shape != (1, 1, len(vocab)) or not np.isfinite(logits).all():
        shape = getattr(logits, "shape", type(logits).__name__)
        raise ModelFileError(f"{path}: the network gives {shape} scores for one token, not {len(vocab)} finite ones")
    return OnnxGenerator(exported.tokenizer, vocab, config, session)
