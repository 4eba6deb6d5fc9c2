import pytest
import torch

from rnnkit.tasks import build as build_model
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.classify.network import BagOfEmbeddings, Ensemble, TextClassifier, members_of


def test_recurrent_classifier_is_batch_independent():
    """A text gets the same scores alone or padded in a batch with longer texts."""
    torch.manual_seed(0)
    for pooling in ("last", "mean", "max", "attention"):
        model = build_model(
            ClassifierConfig(vocab_size=20, num_classes=3, pooling=pooling, hidden_size=8, embedding_dim=6)
        ).eval()
        ids = torch.tensor([[5, 6, 7, 0, 0, 0], [2, 3, 4, 5, 6, 7]])
        lengths = torch.tensor([3, 6])
        together = model(ids, lengths)
        alone = model(ids[:1, :3], lengths[:1])
        torch.testing.assert_close(together[:1], alone, atol=1e-6, rtol=0)


def test_bag_of_embeddings_ignores_order_and_padding():
    model = BagOfEmbeddings(ClassifierConfig(vocab_size=10, num_classes=2, model="bag", embedding_dim=4)).eval()
    a = model(torch.tensor([[3, 4, 5, 0]]), torch.tensor([3]))
    b = model(torch.tensor([[5, 3, 4]]), torch.tensor([3]))
    torch.testing.assert_close(a, b)


def test_build_model_kinds():
    assert isinstance(build_model(ClassifierConfig(vocab_size=5, num_classes=2)), TextClassifier)
    assert isinstance(build_model(ClassifierConfig(vocab_size=5, num_classes=2, model="bag")), BagOfEmbeddings)


def test_ensemble_averages_the_members_probabilities():
    torch.manual_seed(0)
    for kind in ("rnn", "bag"):
        model = build_model(ClassifierConfig(vocab_size=20, num_classes=3, model=kind, members=3, hidden_size=8)).eval()
        assert isinstance(model, Ensemble) and len(members_of(model)) == 3
        ids, lengths = torch.tensor([[5, 6, 7, 0], [2, 3, 4, 5]]), torch.tensor([3, 4])
        by_hand = sum(member(ids, lengths).softmax(-1) for member in model.members) / 3
        torch.testing.assert_close(model(ids, lengths).softmax(-1), by_hand)
        torch.testing.assert_close(model(ids, lengths).exp(), by_hand)
    single = build_model(ClassifierConfig(vocab_size=20, num_classes=3))
    assert members_of(single) == [single]
    with pytest.raises(ValueError, match="members must be in 1..16"):
        ClassifierConfig(vocab_size=5, num_classes=2, members=0)


def test_config_round_trip_and_checks():
    config = ClassifierConfig(vocab_size=5, num_classes=2, cell="gru", num_layers=2)
    assert ClassifierConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="cell must be one of"):
        ClassifierConfig(vocab_size=5, num_classes=2, cell="tcn")
    with pytest.raises(ValueError, match="num_classes must be at least 2"):
        ClassifierConfig(vocab_size=5, num_classes=1)
    with pytest.raises(ValueError, match="unknown model settings"):
        ClassifierConfig.from_dict({**config.to_dict(), "heads": 4})
    with pytest.raises(ValueError, match="'hidden_size' must be int"):
        ClassifierConfig.from_dict({**config.to_dict(), "hidden_size": "128"})
    with pytest.raises(ValueError, match="'bidirectional' must be bool"):
        ClassifierConfig.from_dict({**config.to_dict(), "bidirectional": 1})


def test_word_dropout_replaces_real_tokens_only_and_only_in_training():
    from rnnkit.tasks.classify.network import replace_words
    from rnnkit.text import PAD_ID, UNK_ID

    torch.manual_seed(0)
    ids = torch.randint(2, 50, (200, 40))
    ids[:, 30:] = PAD_ID
    dropped = replace_words(ids, 0.25)
    changed = dropped != ids
    assert torch.all(dropped[changed] == UNK_ID)
    assert torch.all(dropped[:, 30:] == PAD_ID)  # padding stays padding
    assert 0.22 < changed[:, :30].float().mean() < 0.28
    assert torch.equal(replace_words(ids, 0.0), ids)
    model = build_model(ClassifierConfig(vocab_size=50, num_classes=2, word_dropout=0.5, dropout=0.0)).eval()
    lengths = torch.full((200,), 30)
    torch.testing.assert_close(model(ids, lengths), model(ids, lengths))  # evaluation: no dropout at all
