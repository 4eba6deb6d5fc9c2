"""``LanguageModel``: the weights ``weight_shapes`` promises, tied weights held once, the state carried across
windows exactly, a body that loads into a classifier, and a loss that falls."""

import itertools
import math
from collections import Counter

import pytest
import torch
from torch.nn import functional as F

from rnnkit.data.corpus import batchify, corpus_tokens, windows
from rnnkit.models import weight_shapes
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.classify.network import TextClassifier
from rnnkit.tasks.lm.config import LanguageModelConfig
from rnnkit.tasks.lm.network import LanguageModel, detach_state
from rnnkit.text import Vocab, WordTokenizer

SIZES = {  # (embedding_dim, hidden_size, tie_weights)
    "tied": (8, 8, True),
    "tied-projected": (6, 10, True),
    "untied": (6, 10, False),
}


def small(cell="lstm", kind="tied", layers=2, **settings):
    embedding, hidden, tied = SIZES[kind]
    return LanguageModelConfig(
        vocab_size=23,
        cell=cell,
        embedding_dim=embedding,
        hidden_size=hidden,
        num_layers=layers,
        tie_weights=tied,
        **{"dropout": 0.0, **settings},
    )


@pytest.mark.parametrize(("cell", "kind", "layers"), list(itertools.product(["lstm", "gru", "rnn"], SIZES, [1, 2])))
def test_state_dict_is_weight_shapes(cell, kind, layers):
    config = small(cell, kind, layers)
    model = LanguageModel(config)
    assert {name: tuple(t.shape) for name, t in model.state_dict().items()} == weight_shapes(config)
    assert ("projection.weight" in weight_shapes(config)) == config.projected


def test_tied_decoder_is_the_embedding_itself():
    for kind in ("tied", "tied-projected"):
        model = LanguageModel(small(kind=kind))
        assert model.decoder_weight is model.embedding.weight
        assert model.decoder.weight is None
        assert "decoder.weight" not in model.state_dict()
        assert len(list(model.parameters())) == len(model.state_dict())  # nothing held twice
    untied = LanguageModel(small(kind="untied"))
    assert untied.decoder_weight is untied.decoder.weight
    assert untied.decoder_weight.data_ptr() != untied.embedding.weight.data_ptr()


def test_tied_weights_learn_as_one_tensor():
    model = LanguageModel(small(kind="tied-projected"))
    logits, _ = model(torch.tensor([[2, 3, 4]]))
    F.cross_entropy(logits[0], torch.tensor([3, 4, 5])).backward()
    assert model.embedding.weight.grad[5].abs().sum() > 0  # row 5 was never read: its gradient is the decoder's


def test_shapes_noise_and_initial_state():
    config = small("lstm", "tied-projected", 2)
    model = LanguageModel(config).eval()
    ids = torch.randint(2, 23, (3, 7))
    logits, (h, c) = model(ids)
    assert logits.shape == (3, 7, 23) and h.shape == c.shape == (2, 3, 10)
    assert model.noise_shape(ids) == (3, 7, 6)
    start = model.init_state(3, "cpu")
    torch.testing.assert_close(model(ids, start)[0], logits)
    noise = torch.randn(model.noise_shape(ids))
    assert not torch.allclose(model(ids, noise=noise)[0], logits)
    assert LanguageModel(small("gru")).init_state(2).shape == (2, 2, 8)
    assert abs(model.embedding.weight).max() <= 0.1 and torch.all(model.embedding.weight[0] == 0)


@pytest.mark.parametrize("backend", ["fused", "explicit"])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_state_carried_across_windows_equals_one_long_pass(cell, backend):
    torch.manual_seed(0)
    model = LanguageModel(small(cell, "tied-projected", 2, backend=backend)).eval()
    streams = torch.randint(2, 23, (3, 20))
    whole, final = model(streams)
    pieces, state = [], None
    for inputs, _ in windows(streams, 6):  # inputs cover streams[:, :-1]
        logits, state = model(inputs, state)
        pieces.append(logits)
        state = detach_state(state)
    torch.testing.assert_close(torch.cat(pieces, 1), whole[:, :-1], atol=1e-5, rtol=0)
    _, state = model(streams[:, -1:], state)
    for a, b in zip(state if cell == "lstm" else (state,), final if cell == "lstm" else (final,), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", list(SIZES))
def test_body_loads_into_a_classifier(kind):
    config = small("gru", kind, 2)
    model = LanguageModel(config)
    classifier = TextClassifier(
        ClassifierConfig(
            vocab_size=config.vocab_size,
            num_classes=3,
            cell=config.cell,
            embedding_dim=config.embedding_dim,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            bidirectional=False,
        )
    )
    missing, unexpected = classifier.load_state_dict(model.state_dict(), strict=False)
    assert not [name for name in missing if name.startswith(("embedding.", "encoder."))]
    assert set(unexpected) == {n for n in model.state_dict() if n.startswith(("decoder.", "projection."))}
    for name, tensor in classifier.state_dict().items():
        if name.startswith(("embedding.", "encoder.")):
            assert torch.equal(tensor, model.state_dict()[name])


TEXT = (
    "the cat sat on the mat. the dog sat on the log. a cat and a dog sat on a mat and a log.\n"
    "the cat saw the dog and the dog saw the cat; then the cat sat down and the dog lay down.\n"
) * 12


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_loss_falls_below_the_unigram_entropy_in_forty_steps(cell):
    torch.manual_seed(0)
    tokens = corpus_tokens(TEXT, WordTokenizer())
    counts = Counter(tokens)
    unigram = -sum(n / len(tokens) * math.log(n / len(tokens)) for n in counts.values())  # no context: ~2.6
    vocab = Vocab.build([tokens])
    streams = batchify(torch.tensor(vocab.encode(tokens)), 4)
    config = LanguageModelConfig(vocab_size=len(vocab), cell=cell, embedding_dim=16, hidden_size=32, num_layers=1)
    model = LanguageModel(config).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    losses = []
    while len(losses) < 40:  # epochs over the windows, the state carried from one window to the next
        state = None
        for inputs, targets in windows(streams, 24):
            logits, state = model(inputs, state)
            loss = F.cross_entropy(logits.reshape(-1, config.vocab_size), targets.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            state = detach_state(state)
            losses.append(loss.item())
    assert losses[0] == pytest.approx(math.log(len(vocab)), abs=0.3)  # it starts near uniform
    assert sum(losses[-5:]) / 5 < 0.7 * unigram  # and learns more than word frequencies: it reads the context
