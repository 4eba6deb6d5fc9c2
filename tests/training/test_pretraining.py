"""ULMFiT (``--pretrain``): a language model of the texts whose body the classifier starts from, by name and value;
discriminative learning rates (each layer group moves by its own rate on Adam's first step), gradual unfreezing
(frozen groups do not move, thawed ones do), the slanted triangular schedule computed by hand; the language model
reads each direction causally; unlabelled texts are read or reported; a resumed run does not pretrain again."""

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from checks import one_line_error

import rnnkit
from rnnkit.data import encode_texts
from rnnkit.data.unlabeled import read_unlabeled
from rnnkit.errors import DataError, RnnkitError, RnnkitWarning
from rnnkit.tasks import build as build_model
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.classify.objective import ClassifyTask
from rnnkit.tasks.classify.pretrain_network import TextLanguageModel, start_from
from rnnkit.tasks.classify.pretrain_objective import IGNORED, shifted_targets
from rnnkit.training import finetuning
from rnnkit.training.finetuning import layer_groups, slanted_triangular
from rnnkit.training.trainer import TrainConfig, train_loop

pytestmark = pytest.mark.usefixtures("one_thread")
DATA = Path(__file__).parents[1] / "data"


def classifier(vocab_size, **settings):
    torch.manual_seed(0)
    config = ClassifierConfig(vocab_size=vocab_size, num_classes=6, embedding_dim=8, hidden_size=8, dropout=0.0)
    return build_model(replace(config, **settings))


def test_the_layer_groups_go_from_the_word_vectors_up_to_the_head():
    model = classifier(30, num_layers=2, subwords=11, pooling="attention")
    names = {id(p): n for n, p in model.named_parameters()}
    groups = [sorted(names[id(p)] for p in group) for group in layer_groups(model)]
    assert groups[0] == ["embedding.weight", "subwords.weight"]
    assert all(n.startswith("encoder.") and ("_l0" in n) for n in groups[1]) and len(groups[1]) == 8  # 2 directions
    assert all(n.startswith("encoder.") and ("_l1" in n) for n in groups[2]) and len(groups[2]) == 8
    assert groups[3] == ["output.bias", "output.weight", "pooling.score.weight"]
    assert sum(len(g) for g in groups) == len(list(model.parameters()))


def one_step(small_task, model, **config):
    """Train ``model`` for one step (one batch of the task) and return each parameter's largest move."""
    train, _, labels, _ = small_task
    one_batch = replace(train, lengths=train.lengths[:16])  # 16 texts: a single batch
    task = ClassifyTask(one_batch, None, labels, batch_size=16)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    settings = dict(epochs=1, schedule="constant", weight_decay=0.0, warmup=0.0, lr=1e-2)
    train_loop(model, task, TrainConfig(**{**settings, **config}), progress=False)
    return {n: float((p.detach() - before[n]).abs().max()) for n, p in model.named_parameters()}


def test_each_layer_group_moves_by_its_own_rate_on_adams_first_step(small_task):
    model = classifier(small_task[3], num_layers=2, bidirectional=False)
    moves = one_step(small_task, model, layer_decay=2.0)
    names = {id(p): n for n, p in model.named_parameters()}
    for k, group in enumerate(layer_groups(model)):  # Adam's first update is lr * g / |g|: the rate itself
        expected = 1e-2 / 2.0 ** (3 - k)
        for p in group:
            assert moves[names[id(p)]] == pytest.approx(expected, rel=1e-3), names[id(p)]


def test_gradual_unfreezing_moves_the_thawed_groups_only(small_task):
    train, valid, labels, vocab_size = small_task
    model = classifier(vocab_size)  # groups: word vectors, the recurrent layer, the head
    groups = layer_groups(model)
    snapshots = [[p.detach().clone() for p in model.parameters()]]
    task = ClassifyTask(train, valid, labels, batch_size=64)
    config = TrainConfig(epochs=3, unfreeze=True, layer_decay=2.6, schedule="slanted", patience=9)
    train_loop(model, task, config, progress=False, on_epoch_end=lambda _: snapshots.append(
        [p.detach().clone() for p in model.parameters()]
    ))  # fmt: skip
    index = {id(p): i for i, p in enumerate(model.parameters())}
    for epoch in (1, 2, 3):
        for k, group in enumerate(groups):
            moved = [not torch.equal(snapshots[epoch][index[id(p)]], snapshots[epoch - 1][index[id(p)]]) for p in group]
            thawed = k >= len(groups) - epoch
            assert all(moved) if thawed else not any(moved), (epoch, k)
    assert all(p.requires_grad for p in model.parameters())  # all thawed again at the end


def test_the_slanted_triangular_rate_rises_over_a_tenth_then_falls_to_a_32nd():
    factor = slanted_triangular(100)
    assert factor(0) == pytest.approx(1 / 32)
    assert factor(10) == pytest.approx(1.0)
    assert factor(5) == pytest.approx((1 + 0.5 * 31) / 32)
    assert factor(55) == pytest.approx((1 + 0.5 * 31) / 32)  # half way down: p = 1 - 45 / 90
    assert factor(100) == pytest.approx(1 / 32)
    assert all(factor(s) <= factor(s + 1) for s in range(10)) and all(factor(s) >= factor(s + 1) for s in range(10, 99))


def test_targets_are_the_next_and_the_previous_word_within_each_text():
    ids = torch.tensor([[5, 6, 7], [8, 9, 0]])
    following, preceding = shifted_targets(ids, torch.tensor([3, 2]))
    assert following.tolist() == [[6, 7, IGNORED], [9, IGNORED, IGNORED]]
    assert preceding.tolist() == [[IGNORED, 5, 6], [IGNORED, 8, IGNORED]]


def test_each_direction_reads_only_what_it_may():
    config = ClassifierConfig(vocab_size=20, num_classes=2, embedding_dim=6, hidden_size=5, dropout=0.0)
    torch.manual_seed(0)
    model = TextLanguageModel(config).eval()
    a = torch.tensor([[3, 4, 5, 6, 7]])
    b = a.clone()
    b[0, 2] = 9  # change the third word
    lengths = torch.tensor([5])
    with torch.no_grad():
        (next_a, prev_a), (next_b, prev_b) = model.log_probabilities(a, lengths), model.log_probabilities(b, lengths)
    assert torch.allclose(next_a.exp().sum(-1), torch.ones(1, 5), atol=1e-5)  # distributions over the vocabulary
    torch.testing.assert_close(next_a[0, :2], next_b[0, :2])  # the forward direction before it: unchanged
    torch.testing.assert_close(prev_a[0, 3:], prev_b[0, 3:])  # the backward direction after it: unchanged
    assert not torch.allclose(next_a[0, 2:], next_b[0, 2:]) and not torch.allclose(prev_a[0, :3], prev_b[0, :3])
    with pytest.raises(ValueError, match="one layer deep"):
        TextLanguageModel(replace(config, num_layers=2))


def test_the_classifier_starts_from_the_pretrained_body_by_name_and_value(tmp_path, monkeypatch):
    import rnnkit.tasks.classify.train as classify_training

    started = []

    def recording(member, body):
        start_from(member, body)
        started.append(
            ({k: v.clone() for k, v in body.items()}, {k: v.clone() for k, v in member.state_dict().items()})
        )

    monkeypatch.setattr(classify_training, "start_from", recording)
    unlabeled = tmp_path / "more.txt"
    unlabeled.write_text("what is a zqxjk ?\n\nwho wrote the zqxjk ?\n" * 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RnnkitWarning)
        pipeline = rnnkit.train(
            DATA / "trec_train.csv", pretrain=True, unlabeled=unlabeled, pretrain_epochs=1, epochs=1, ensemble=1,
            hidden=8, embedding_dim=8, subwords=50, unfreeze=True, layer_decay=2.6, schedule="slanted",
            out=tmp_path / "run", quiet=True,
        )  # fmt: skip
    ((body, member),) = started
    assert set(body) == {n for n in member if n.startswith(("embedding.", "subwords.", "encoder."))}
    for name, value in body.items():
        assert torch.equal(member[name], value), name
    final = pipeline.model.state_dict()  # epoch 1 of gradual unfreezing trains the head only:
    assert all(torch.equal(final[name], value) for name, value in body.items())
    assert "zqxjk" in pipeline.vocab  # the vocabulary is the language model's: unlabelled words too
    assert pipeline.training["pretraining"]["texts"] == pipeline.training["train_examples"] + 40  # no validation
    assert pipeline.training["options"]["schedule"] == "slanted" and pipeline.training["options"]["unfreeze"]
    assert pipeline.training["options"]["layer_decay"] == 2.6
    assert not (tmp_path / "run" / "pretrain").exists()  # a finished run leaves its model only


def test_a_resumed_run_starts_from_the_body_it_pretrained(small_task, tmp_path, monkeypatch):
    from rnnkit.tasks.classify import pretraining

    train, valid, _, vocab_size = small_task
    config = ClassifierConfig(vocab_size=vocab_size, num_classes=6, embedding_dim=8, hidden_size=8)
    loop = TrainConfig(epochs=1)
    body, record = pretraining.pretrain_body(config, train, valid, loop, tmp_path, False, "f", progress=False)
    monkeypatch.setattr(pretraining, "train_loop", lambda *a, **k: pytest.fail("pretrained again"))
    again, record_again = pretraining.pretrain_body(config, train, valid, loop, tmp_path, True, "f", progress=False)
    assert record_again == record and all(torch.equal(again[k], body[k]) for k in body)
    monkeypatch.setattr(pretraining, "train_loop", train_loop)
    with pytest.raises(RnnkitError, match="differ from the interrupted run"):  # other data or options: refused
        pretraining.pretrain_body(config, train, valid, loop, tmp_path, True, "other", progress=False)


def test_unlabelled_texts_are_read_from_lines_or_a_column_and_blank_lines_reported(tmp_path):
    lines = tmp_path / "more.txt"
    lines.write_text("first text\n\n  \nsecond text\n")
    read = read_unlabeled(lines)
    assert read.texts == ["first text", "second text"] and read.skipped_lines == [2, 3]
    assert "skipped 2 empty texts (lines 2, 3)" in read.summary()
    table = tmp_path / "more.csv"
    table.write_text("id,sentence,label\n1,a text,0\n2,another,1\n")
    assert read_unlabeled(table).texts == ["a text", "another"]
    empty = tmp_path / "blank.txt"
    empty.write_text("\n \n")
    with pytest.raises(DataError):
        read_unlabeled(empty)


def test_options_that_cannot_go_with_pretraining_are_refused_in_one_line(tmp_path):
    for options, message in [
        ({"unlabeled": "x.txt"}, "add --pretrain"),
        ({"pretrain": True, "task": "lm"}, "--pretrain is an option of classify models"),
        ({"pretrain": True, "layers": 2}, "one layer deep"),
        ({"pretrain": True, "model": "bag"}, "--model bag"),
        ({"layer_decay": 0.5}, "--layer-decay must be at least 1"),
    ]:
        with pytest.raises(RnnkitError, match=message):
            rnnkit.train(DATA / "trec_train.csv", **options, out=tmp_path / "x", quiet=True)
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "rnnkit", "train", str(DATA / "trec_train.csv"), "--unlabeled", "x.txt"],
        capture_output=True, text=True,
    )  # fmt: skip
    one_line_error(result, "add --pretrain")


def test_ulmfits_fine_tuning_is_asked_for_with_or_without_pretraining():
    from rnnkit.api import train_options

    plain, pretrained = train_options(None, {}), train_options(None, {"pretrain": True})
    assert (plain.schedule, plain.layer_decay, plain.unfreeze) == ("linear", 1.0, False)  # measured best (RESULTS.md)
    assert (pretrained.schedule, pretrained.layer_decay, pretrained.unfreeze) == ("linear", 1.0, False)
    ulmfit = train_options(None, {"unfreeze": True, "schedule": "slanted", "layer_decay": 2.6})
    assert (ulmfit.schedule, ulmfit.layer_decay, ulmfit.unfreeze) == ("slanted", 2.6, True)
    assert np.isclose(finetuning.RATIO, 32) and finetuning.CUT_FRAC == 0.1  # the paper's values
    _ = encode_texts


def test_a_classifier_starts_from_a_language_model_saved_earlier(tmp_path):
    from safetensors.numpy import load_file

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RnnkitWarning)
        lm = rnnkit.train(
            DATA / "shakespeare_sample.txt", task="lm", tokenizer="word", hidden=8, embedding_dim=8, layers=2,
            window=16, batch_size=4, epochs=1, out=tmp_path / "lm", quiet=True,
        )  # fmt: skip
        pipeline = rnnkit.train(
            DATA / "trec_train.csv",
            encoder=tmp_path / "lm",
            epochs=1,
            ensemble=1,
            unfreeze=True,
            out=tmp_path / "clf",
            quiet=True,
        )
    config = pipeline.model_config
    assert (config.cell, config.hidden_size, config.embedding_dim, config.num_layers) == ("lstm", 8, 8, 2)
    assert not config.bidirectional and pipeline.vocab.tokens == lm.vocab.tokens
    assert pipeline.tokenizer.to_dict() == lm.tokenizer.to_dict()
    saved = load_file(str(tmp_path / "lm" / "model.safetensors"))
    final = pipeline.model.state_dict()  # one epoch of gradual unfreezing trains the head only: the body is the LM's
    body = [name for name in saved if name.startswith(("embedding.", "encoder."))]
    assert len(body) == 1 + 8 and all(np.array_equal(final[name].numpy(), saved[name]) for name in body)
    with pytest.raises(RnnkitError, match="give a language model"):
        rnnkit.train(DATA / "trec_train.csv", encoder=tmp_path / "clf", out=tmp_path / "x", quiet=True)
    with pytest.raises(RnnkitError, match="choose one of them"):
        rnnkit.train(DATA / "trec_train.csv", encoder=tmp_path / "lm", pretrain=True, out=tmp_path / "x", quiet=True)
