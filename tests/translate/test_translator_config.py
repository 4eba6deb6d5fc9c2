"""TranslatorConfig: checks, JSON round trip, and the weight shapes that a saved translator is checked against."""

import subprocess
import sys

import pytest
import torch

from rnnkit.tasks.lm.config import LanguageModelConfig
from rnnkit.tasks.lm.network import LanguageModel
from rnnkit.tasks.translate.config import TranslatorConfig, translator_shapes
from rnnkit.tasks.translate.network import TranslationNetwork

SETTINGS = [
    {},
    {"attention": "bahdanau"},
    {"cell": "gru", "input_feeding": False, "tie_embeddings": False},
    {"cell": "rnn", "bidirectional": False, "encoder_layers": 2, "decoder_layers": 3},
    {"attention": "bahdanau", "cell": "gru", "encoder_layers": 2, "decoder_layers": 2, "tie_embeddings": False},
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_shapes_are_the_state_dict(settings):
    config = TranslatorConfig(30, 40, embedding_dim=6, encoder_hidden_size=5, decoder_hidden_size=7, **settings)
    network = TranslationNetwork(config)
    assert {k: tuple(v.shape) for k, v in network.state_dict().items()} == translator_shapes(config)


def test_round_trip_and_refusals():
    config = TranslatorConfig(30, 40, attention="bahdanau", dropout=0.1)
    assert TranslatorConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown model settings"):
        TranslatorConfig.from_dict({**config.to_dict(), "heads": 8})
    with pytest.raises(ValueError, match="must be int"):
        TranslatorConfig.from_dict({**config.to_dict(), "decoder_layers": "2"})
    for wrong, message in [
        ({"attention": "dot"}, "attention must be one of"),
        ({"cell": "transformer"}, "cell must be one of"),
        ({"dropout": 1.0}, "dropout"),
        ({"decoder_layers": 0}, "decoder_layers"),
        ({"target_vocab_size": 3}, "target_vocab_size"),
    ]:
        with pytest.raises(ValueError, match=message):
            TranslatorConfig.from_dict({**config.to_dict(), **wrong})


def test_a_language_models_body_starts_the_encoder():
    """The encoder's weights are the shared body's, by name and shape: a unidirectional translator takes every
    weight of a language model's body of the same sizes."""
    lm = LanguageModel(LanguageModelConfig(vocab_size=30, embedding_dim=6, hidden_size=5, num_layers=2))
    config = TranslatorConfig(30, 40, embedding_dim=6, encoder_hidden_size=5, encoder_layers=2, bidirectional=False)
    network = TranslationNetwork(config)
    body = {k: v for k, v in lm.state_dict().items() if k.startswith(("embedding.", "encoder."))}
    missing, unexpected = network.load_state_dict(body, strict=False)
    assert not unexpected and all(not k.startswith(("embedding.", "encoder.")) for k in missing)
    assert torch.equal(network.encoder.weight_hh_l1, lm.encoder.weight_hh_l1)


def test_the_torch_free_modules_import_no_torch():
    code = (
        "import sys; import rnnkit.tasks.translate.config, rnnkit.tasks.translate.data, "
        "rnnkit.tasks.translate.pieces, rnnkit.tasks.translate.search, rnnkit.tasks.translate.scoring, "
        "rnnkit.tasks.translate.translator, rnnkit.tasks.translate.graph, rnnkit.tasks.translate.export, "
        "rnnkit.tasks.translate.report, rnnkit.tasks.translate.cli, "
        "rnnkit.tasks.translate.serve, rnnkit.loading, rnnkit.modeldir; "
        "from rnnkit.tasks.translate.config import TranslatorConfig, translator_shapes; "
        "translator_shapes(TranslatorConfig(10, 10)); assert 'torch' not in sys.modules, 'torch was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
