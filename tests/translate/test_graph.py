"""The ONNX encoder and decoder step compute the torch network's numbers; translations through onnxruntime are
torch's."""

import numpy as np
import onnx
import pytest
import torch

from rnnkit.tasks.translate.config import TranslatorConfig
from rnnkit.tasks.translate.graph import OnnxTranslator, encoder_graph, step_graph
from rnnkit.tasks.translate.network import TranslationNetwork
from rnnkit.tasks.translate.torch_translator import TorchTranslator
from rnnkit.tasks.translate.translator import pad

pytestmark = pytest.mark.usefixtures("one_thread")
KINDS = [
    {"input_feeding": True},
    {"attention": "bahdanau", "cell": "gru", "input_feeding": False, "tie_embeddings": False},
    {"cell": "rnn", "bidirectional": False, "encoder_layers": 2, "decoder_layers": 3},
    {"attention": "bahdanau", "encoder_layers": 2, "decoder_layers": 2},
]


def pair(**settings):
    torch.manual_seed(0)
    config = TranslatorConfig(20, 30, embedding_dim=8, encoder_hidden_size=6, decoder_hidden_size=10, **settings)
    network = TranslationNetwork(config)
    weights = {k: v.detach().numpy().copy() for k, v in network.state_dict().items()}
    return TorchTranslator(network, None, None), OnnxTranslator(config, None, None, weights), weights


@pytest.mark.parametrize("settings", KINDS)
def test_encoder_and_steps_equal_torch(settings):
    on_torch, on_onnx, _ = pair(**settings)
    ids, lengths = pad([[5, 6, 7, 8, 9], [9, 10], [11, 12, 13]])
    state, context = on_torch.encode(ids, lengths)
    onnx_state, onnx_context = on_onnx.encode(ids, lengths)
    for name in context:
        np.testing.assert_allclose(onnx_context[name], context[name], atol=1e-6)
    for name in state:
        np.testing.assert_allclose(onnx_state[name], state[name], atol=1e-6)
    tokens = np.array([2, 2, 2])
    for t in range(4):
        log_probs, state = on_torch.step(tokens, state, context)
        onnx_log_probs, onnx_state = on_onnx.step(tokens, onnx_state, onnx_context)
        np.testing.assert_allclose(onnx_log_probs, log_probs, atol=1e-5)
        for name in state:
            np.testing.assert_allclose(onnx_state[name], state[name], atol=1e-6)
        tokens = np.array([4 + t, 7, 29])


def test_the_step_graph_gives_padding_no_attention():
    _, on_onnx, _ = pair()
    ids, lengths = pad([[5, 6, 7, 8, 9], [9, 10]])
    state, context = on_onnx.encode(ids, lengths)
    feeds = {"tokens": np.array([2, 2]), **state, **context, "k": np.array([3])}
    (weights,) = on_onnx.stepper.run(["weights"], feeds)
    assert np.all(weights[1, 2:] == 0) and np.all(weights[1, :2] > 0) and np.all(weights[0] > 0)
    np.testing.assert_allclose(weights.sum(1), 1, rtol=1e-6)


@pytest.mark.parametrize("settings", KINDS[:2])
def test_translations_equal_torch(settings):
    on_torch, on_onnx, _ = pair(**settings)
    sources = [[5, 6, 7], [9], [11, 12, 13, 14, 15, 16], [8, 8]]
    for beam in (1, 4):
        assert [[h.tokens for h in hs] for hs in on_onnx.search(sources, beam, beam)] == [
            [h.tokens for h in hs] for hs in on_torch.search(sources, beam, beam)
        ]


def test_the_graphs_are_valid_and_use_standard_operators_only():
    for settings in KINDS:
        _, _, weights = pair(**settings)
        config = TranslatorConfig(20, 30, embedding_dim=8, encoder_hidden_size=6, decoder_hidden_size=10, **settings)
        for graph in (encoder_graph(config, weights), step_graph(config, weights)):
            onnx.checker.check_model(graph, full_check=True)
            assert {node.domain for node in graph.graph.node} == {""}
            assert [op.domain for op in graph.opset_import] == [""]


def test_the_attention_map_of_a_translation():
    from conftest import DATA

    from rnnkit.tasks.translate.data import read_pairs
    from rnnkit.tasks.translate.pieces import Pieces

    pairs = read_pairs(DATA / "tatoeba_eng_fra_valid_sample.tsv")
    source, target = Pieces.train(pairs.sources, 400), Pieces.train(pairs.targets, 400)
    torch.manual_seed(0)
    config = TranslatorConfig(len(source), len(target), embedding_dim=8, encoder_hidden_size=6, decoder_hidden_size=10)
    network = TranslationNetwork(config)
    weights = {k: v.detach().numpy().copy() for k, v in network.state_dict().items()}
    on_torch = TorchTranslator(network, source, target)
    on_onnx = OnnxTranslator(config, source, target, weights)
    reading = on_torch.attention("Where is Tom?", "Où est Tom ?")
    assert reading["source"] == source.pieces("Where is Tom?") and reading["target"][-1] == "</s>"
    assert reading["weights"].shape == (len(reading["target"]), len(reading["source"]))
    np.testing.assert_allclose(reading["weights"].sum(1), 1, rtol=1e-5)
    np.testing.assert_allclose(
        on_onnx.attention("Where is Tom?", "Où est Tom ?")["weights"], reading["weights"], atol=1e-6
    )
    assert on_onnx.attention("Where is Tom?")["translation"] == on_torch.translate("Where is Tom?")
