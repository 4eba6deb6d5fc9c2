"""The network: padding gets exactly zero attention, a sentence's numbers do not depend on its batch, and one
decoding step at a time gives the numbers of the teacher-forced pass."""

import pytest
import torch

from rnnkit.tasks.translate.attention import attend
from rnnkit.tasks.translate.config import TranslatorConfig
from rnnkit.tasks.translate.network import TranslationNetwork

pytestmark = pytest.mark.usefixtures("one_thread")
KINDS = [
    {"attention": "luong", "input_feeding": True},
    {"attention": "bahdanau", "input_feeding": True},
    {"attention": "luong", "input_feeding": False, "cell": "gru"},
    {"attention": "bahdanau", "input_feeding": False, "decoder_layers": 2, "encoder_layers": 2},
    {"attention": "luong", "cell": "rnn", "bidirectional": False, "tie_embeddings": False},
]


def network(**settings):
    torch.manual_seed(0)
    config = TranslatorConfig(20, 25, embedding_dim=8, encoder_hidden_size=6, decoder_hidden_size=10, **settings)
    return TranslationNetwork(config).eval()


def batch():
    torch.manual_seed(1)
    source = torch.randint(4, 20, (3, 6))
    lengths = torch.tensor([6, 2, 4])
    source[1, 2:] = 0
    source[2, 4:] = 0
    targets = torch.randint(4, 25, (3, 5))
    targets[:, 0] = 2  # <s>
    return source, lengths, targets


def test_padding_gets_exactly_zero_weight():
    scores = torch.randn(2, 3, 4)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    weights, _ = attend(scores, mask, torch.randn(2, 4, 5))
    assert torch.all(weights[0, :, 2:] == 0) and torch.all(weights[1] > 0)
    torch.testing.assert_close(weights.sum(2), torch.ones(2, 3))


@pytest.mark.parametrize("settings", KINDS)
def test_a_sentence_is_scored_as_alone_whatever_its_padding(settings):
    model = network(**settings)
    source, lengths, targets = batch()
    with torch.no_grad():
        together = model(source, lengths, targets)
        for i in range(3):
            n = int(lengths[i])
            alone = model(source[i : i + 1, :n], lengths[i : i + 1], targets[i : i + 1])
            torch.testing.assert_close(together[i : i + 1], alone, atol=1e-5, rtol=1e-5)
            # and junk in the padding changes nothing
        junk = source.clone()
        junk[1, 2:] = 7
        torch.testing.assert_close(model(junk, lengths, targets), together, atol=0, rtol=0)


@pytest.mark.parametrize("settings", KINDS)
def test_one_step_at_a_time_is_the_teacher_forced_pass(settings):
    model = network(**settings)
    source, lengths, targets = batch()
    with torch.no_grad():
        forced = torch.log_softmax(model(source, lengths, targets), dim=2)  # (B, T, V)
        encoded = model.encode(source, lengths)
        at = model.start(encoded)
        for t in range(targets.shape[1]):
            log_probs, at, weights = model.step(targets[:, t], at, encoded)
            torch.testing.assert_close(log_probs, forced[:, t], atol=1e-5, rtol=1e-5)
            assert torch.all(weights[1, 2:] == 0) and torch.all(weights[2, 4:] == 0)


def test_dropout_acts_in_training_only():
    model = network(dropout=0.5)
    source, lengths, targets = batch()
    with torch.no_grad():
        assert torch.equal(model(source, lengths, targets), model(source, lengths, targets))
        model.train()
        assert not torch.equal(model(source, lengths, targets), model(source, lengths, targets))


def test_the_tied_output_layer_is_the_target_embedding():
    model = network()
    assert model.output.weight is None and "output.weight" not in model.state_dict()
    vectors = torch.randn(4, model.config.attentional_size)
    expected = vectors @ model.target_embedding.weight.T + model.output.bias
    torch.testing.assert_close(model.logits(vectors), expected)
