"""The language model as an ONNX graph: onnxruntime gives torch's next-token scores and states."""

import itertools

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from rnnkit.exported import OPERATORS
from rnnkit.tasks.lm.config import LanguageModelConfig
from rnnkit.tasks.lm.graph import language_model_graph
from rnnkit.tasks.lm.network import LanguageModel
from rnnkit.tasks.lm.sampling import generate

SIZES = {"tied": (8, 8, True), "projected": (6, 10, True), "untied": (6, 10, False)}  # (E, H, tied)


def build(cell, layers, kind):
    embedding, hidden, tied = SIZES[kind]
    config = LanguageModelConfig(
        vocab_size=31, cell=cell, embedding_dim=embedding, hidden_size=hidden, num_layers=layers, tie_weights=tied
    )
    torch.manual_seed(0)
    model = LanguageModel(config).eval()
    with torch.no_grad():  # a trained decoder bias is not zero; make it count
        model.decoder.bias.normal_()
    return config, model


def session(config, weights, external=False):
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    arrays = {} if external else None
    graph = language_model_graph(config, weights, external=arrays)
    if external:
        names = list(arrays)
        options.add_external_initializers(names, [onnxruntime.OrtValue.ortvalue_from_numpy(arrays[n]) for n in names])
    run = onnxruntime.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return graph, run, arrays


def states(config, state):
    return list(state) if config.cell == "lstm" else [state]


@pytest.mark.parametrize(
    ("cell", "layers", "kind"), list(itertools.product(["lstm", "gru", "rnn"], [1, 2], list(SIZES)))
)
def test_onnxruntime_gives_torchs_logits_and_states(cell, layers, kind):
    config, model = build(cell, layers, kind)
    weights = {k: v.numpy() for k, v in model.state_dict().items()}
    graph, run, _ = session(config, weights)
    assert {node.op_type for node in graph.graph.node} <= OPERATORS
    names = ["h0", "c0"] if cell == "lstm" else ["h0"]
    rng = np.random.default_rng(1)
    for batch, steps in [(1, 1), (1, 7), (3, 1), (3, 7)]:
        ids = rng.integers(0, config.vocab_size, (batch, steps))
        start = [rng.normal(size=(layers, batch, config.hidden_size)).astype(np.float32) for _ in names]
        with torch.inference_mode():
            state = tuple(torch.from_numpy(s) for s in start) if cell == "lstm" else torch.from_numpy(start[0])
            logits, final = model(torch.from_numpy(ids), state)
        outputs = run.run(None, {"ids": ids, **dict(zip(names, start, strict=True))})
        assert outputs[0].shape == (batch, steps, config.vocab_size)
        np.testing.assert_allclose(outputs[0], logits.numpy(), atol=1e-5, rtol=0)
        for got, expected in zip(outputs[1:], states(config, final), strict=True):
            np.testing.assert_allclose(got, expected.numpy(), atol=1e-5, rtol=0)


def test_tied_embedding_is_stored_once_and_external_weights_work():
    config, model = build("lstm", 2, "projected")
    weights = {k: v.numpy() for k, v in model.state_dict().items()}
    graph, _, _ = session(config, weights)
    tables = [t for t in graph.graph.initializer if tuple(t.dims) == (config.vocab_size, config.embedding_dim)]
    assert len(tables) == 1
    lean, run, arrays = session(config, weights, external=True)
    assert {"embedding", "projection", "decoder_bias"} <= set(arrays)
    assert all(t.data_location == onnx.TensorProto.EXTERNAL for t in lean.graph.initializer if t.name in arrays)
    ids = np.array([[4, 5, 6]])
    zeros = np.zeros((2, 1, config.hidden_size), np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(ids))[0].numpy()
    np.testing.assert_allclose(run.run(None, {"ids": ids, "h0": zeros, "c0": zeros})[0], expected, atol=1e-5)


def test_onnxruntime_and_torch_generate_the_same_text():
    config, model = build("gru", 2, "tied")
    _, run, _ = session(config, {k: v.numpy() for k, v in model.state_dict().items()})

    def onnx_step(ids, state):
        logits, h = run.run(None, {"ids": ids, "h0": state})
        return logits, h

    def torch_step(ids, state):
        with torch.inference_mode():
            logits, h = model(torch.from_numpy(ids), torch.from_numpy(state))
        return logits.numpy(), h.numpy()

    start = np.zeros((2, 1, config.hidden_size), np.float32)
    texts = [
        list(generate(step, start, [3, 4, 5], 20, np.random.default_rng(3), temperature=0.8))
        for step in (onnx_step, torch_step)
    ]
    assert texts[0] == texts[1]
