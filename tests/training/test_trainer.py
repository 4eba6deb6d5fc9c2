import contextlib
import json

import pytest
import torch
from torch.nn import functional as F

from rnnkit.data import encode_texts
from rnnkit.errors import RnnkitError
from rnnkit.tasks import build as build_model
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.classify.objective import ClassifyTask, fit
from rnnkit.tasks.lm.config import LanguageModelConfig
from rnnkit.tasks.tag.config import TaggerConfig
from rnnkit.text import Vocab
from rnnkit.text.spellings import Spellings
from rnnkit.training import TrainConfig
from rnnkit.training.objective import Batch, StepResult
from rnnkit.training.trainer import CHECKPOINT, LOG, WeightAverage, adversarial_backward, warmup_linear_decay


def new_model(vocab_size, classes):
    torch.manual_seed(0)
    return build_model(ClassifierConfig(vocab_size=vocab_size, num_classes=classes, hidden_size=16, embedding_dim=16))


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_learns_and_logs(small_task, tmp_path):
    train, valid, labels, vocab_size = small_task
    model = new_model(vocab_size, len(labels))
    result = fit(
        model, train, valid, labels, TrainConfig(epochs=6, lr=2e-2, batch_size=32), run_dir=tmp_path, progress=False
    )
    assert len(result.history) == 6
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert max(r["valid_accuracy"] for r in result.history) > 0.4  # six classes: chance is under 0.3
    log = [json.loads(line) for line in (tmp_path / LOG).read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3, 4, 5, 6]
    assert (tmp_path / CHECKPOINT).exists()


def test_same_seed_same_model(small_task):
    train, valid, labels, vocab_size = small_task
    runs = []
    for _ in range(2):
        model = new_model(vocab_size, len(labels))
        fit(model, train, valid, labels, TrainConfig(epochs=1, seed=5), progress=False)
        runs.append(weights(model))
    for name in runs[0]:
        assert torch.equal(runs[0][name], runs[1][name]), name


@pytest.mark.parametrize("average, adversarial", [(0.0, 0.0), (0.9, 0.0), (0.0, 5.0)])
def test_resume_after_interrupt_gives_the_uninterrupted_model(small_task, tmp_path, average, adversarial):
    train, valid, labels, vocab_size = small_task
    config = TrainConfig(epochs=3, seed=1, average=average, adversarial=adversarial)
    whole = new_model(vocab_size, len(labels))
    fit(whole, train, valid, labels, config, run_dir=tmp_path / "whole", progress=False)

    def interrupt(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    broken = new_model(vocab_size, len(labels))
    with pytest.raises(KeyboardInterrupt):
        fit(
            broken,
            train,
            valid,
            labels,
            config,
            run_dir=tmp_path / "broken",
            progress=False,
            on_epoch_end=interrupt,
            fingerprint="f",
        )
    resumed = new_model(vocab_size, len(labels))
    result = fit(
        resumed, train, valid, labels, config, run_dir=tmp_path / "broken", resume=True, fingerprint="f", progress=False
    )
    assert [r["epoch"] for r in result.history] == [1, 2, 3]
    for name, tensor in weights(whole).items():
        assert torch.equal(tensor, resumed.state_dict()[name]), name
    with pytest.raises(RnnkitError, match="differ from the interrupted run"):
        fit(
            new_model(vocab_size, len(labels)),
            train,
            valid,
            labels,
            config,
            run_dir=tmp_path / "broken",
            resume=True,
            fingerprint="other",
            progress=False,
        )


def test_early_stopping_restores_best_weights(small_task):
    train, valid, labels, vocab_size = small_task
    model = new_model(vocab_size, len(labels))
    seen = []
    result = fit(
        model,
        train,
        valid,
        labels,
        TrainConfig(epochs=30, patience=1, lr=0.05),
        progress=False,
        on_epoch_end=lambda r: seen.append(weights(model)),
    )
    assert result.stopped_early and len(result.history) < 30
    best = seen[result.best_epoch - 1]
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, best[name])


def test_resume_without_checkpoint(small_task, tmp_path):
    train, valid, labels, vocab_size = small_task
    with pytest.raises(RnnkitError, match="nothing to resume"):
        fit(new_model(vocab_size, len(labels)), train, valid, labels, TrainConfig(), run_dir=tmp_path, resume=True)
    (tmp_path / CHECKPOINT).write_bytes(b"garbage")
    with pytest.raises(RnnkitError, match="cannot read the checkpoint"):
        fit(new_model(vocab_size, len(labels)), train, valid, labels, TrainConfig(), run_dir=tmp_path, resume=True)


def test_schedule_warms_up_then_decays():
    factor = warmup_linear_decay(100, 0.1)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(55) == pytest.approx(0.5) and factor(100) == 0.0


def test_constant_schedule_keeps_the_learning_rate(small_task):
    train, valid, labels, vocab_size = small_task
    config = TrainConfig(epochs=2, lr=3e-3, schedule="constant")
    result = fit(new_model(vocab_size, len(labels)), train, None, labels, config, progress=False)
    assert [r["lr"] for r in result.history] == [3e-3, 3e-3]
    config = TrainConfig(epochs=2, lr=3e-3)
    result = fit(new_model(vocab_size, len(labels)), train, None, labels, config, progress=False)
    assert result.history[-1]["lr"] == 0.0


def test_bad_train_config(small_task):
    train, valid, labels, _ = small_task
    TrainConfig(metric="loss")  # the loop takes any task's metric: the task's objective says which it has
    with pytest.raises(ValueError, match="metric must be one of"):
        ClassifyTask(train, valid, labels, 16, metric="loss")
    with pytest.raises(RnnkitError, match="epochs must be at least 1"):
        TrainConfig(epochs=0)
    with pytest.raises(RnnkitError, match="average must be in"):
        TrainConfig(average=1.0)
    with pytest.raises(RnnkitError, match="label_smoothing must be in"):
        TrainConfig(label_smoothing=-0.1)
    with pytest.raises(RnnkitError, match="adversarial must not be negative"):
        TrainConfig(adversarial=-1.0)


def test_clip_gradients_matches_torch():
    from rnnkit.training.trainer import clip_gradients

    torch.manual_seed(0)
    for scale in (0.01, 100.0):  # under the limit: untouched; over it: scaled as torch scales
        a = [torch.nn.Parameter(torch.randn(5, 3)) for _ in range(3)]
        b = [torch.nn.Parameter(p.detach().clone()) for p in a]
        for p, q in zip(a, b, strict=True):
            p.grad = torch.randn(5, 3) * scale
            q.grad = p.grad.clone()
        clip_gradients(a, 1.0)
        torch.nn.utils.clip_grad_norm_(b, 1.0)
        for p, q in zip(a, b, strict=True):
            torch.testing.assert_close(p.grad, q.grad, atol=0, rtol=0)


def test_weight_average_is_the_moving_average_computed_by_hand():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    average = WeightAverage(model, decay=0.9)
    expected = [p.detach().clone() for p in model.parameters()]
    for step in range(1, 40):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        average.update()
        decay = min(0.9, (1 + step) / (10 + step))
        expected = [decay * e + (1 - decay) * p.detach() for e, p in zip(expected, model.parameters(), strict=True)]
    raw = [p.detach().clone() for p in model.parameters()]
    average.swap()
    for p, e in zip(model.parameters(), expected, strict=True):
        torch.testing.assert_close(p.detach(), e)
    average.swap()  # twice: back to the raw weights, exactly
    for p, r in zip(model.parameters(), raw, strict=True):
        assert torch.equal(p.detach(), r)


def test_averaging_keeps_the_average_and_leaves_training_untouched(small_task):
    """The raw weights follow the same path with and without averaging; only what is scored and kept differs."""
    train, valid, labels, vocab_size = small_task
    raw_last_epoch, kept = {}, {}
    for average in (0.0, 0.95):
        model = new_model(vocab_size, len(labels))
        seen = []
        config = TrainConfig(epochs=2, seed=3, average=average)
        fit(
            model,
            train,
            valid,
            labels,
            config,
            progress=False,
            on_epoch_end=lambda r, m=model, s=seen: s.append(weights(m)),
        )
        raw_last_epoch[average], kept[average] = seen[-1], weights(model)
    for name, tensor in raw_last_epoch[0.0].items():
        assert torch.equal(tensor, raw_last_epoch[0.95][name]), name
    assert any(not torch.equal(kept[0.0][n], kept[0.95][n]) for n in kept[0.0])


def test_label_smoothing_changes_the_loss_only_when_asked(small_task):
    train, valid, labels, vocab_size = small_task
    losses = {}
    for smoothing in (0.0, 0.0, 0.2):
        model = new_model(vocab_size, len(labels))
        result = fit(model, train, None, labels, TrainConfig(epochs=1, label_smoothing=smoothing), progress=False)
        losses.setdefault(smoothing, []).append(result.history[0]["train_loss"])
    assert losses[0.0][0] == losses[0.0][1] and losses[0.2][0] != losses[0.0][0]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_fused_backend_trains_the_same_model_as_the_cell_formulas(small_task, cell):
    """The fused kernel with length plans is a speed-up that claims exactness: two epochs of training (same seed,
    same batches, dropout on) end at the weights the explicit loop of cell formulas reaches, to float rounding."""
    train, valid, labels, vocab_size = small_task
    models = {}
    for backend in ("fused", "explicit"):
        torch.manual_seed(0)
        config = ClassifierConfig(
            vocab_size=vocab_size, num_classes=len(labels), cell=cell, hidden_size=16, embedding_dim=16, backend=backend
        )
        models[backend] = build_model(config)
        fit(models[backend], train, None, labels, TrainConfig(epochs=2, seed=4), progress=False)
    fused, explicit = models["fused"].state_dict(), models["explicit"].state_dict()
    for name in fused:
        torch.testing.assert_close(fused[name], explicit[name], atol=2e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize("model_kind", ["rnn", "bag"])
def test_adversarial_gradient_is_the_two_losses_computed_by_hand(model_kind):
    """The gradients are those of loss(x) + loss(x + r), with r the loss gradient with respect to the embeddings
    scaled to L2 norm ``size`` per text, got here independently through a hook on the embedding layer."""
    config = ClassifierConfig(vocab_size=30, num_classes=3, model=model_kind, hidden_size=8, embedding_dim=6)
    torch.manual_seed(0)
    model = build_model(config).eval()  # no dropout: both computations see the same network
    ids = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0], [9, 0, 0, 0]])
    lengths, targets = torch.tensor([4, 2, 1]), torch.tensor([0, 2, 1])
    task = ClassifyTask(encode_texts(["a"], str.split, Vocab.build([["a"]])), None, ["x", "y", "z"], batch_size=3)
    clean_pass = adversarial_backward(model, task, Batch(ids, lengths, targets), size=2.0)
    loss = clean_pass.loss
    ours = {name: p.grad.clone() for name, p in model.named_parameters()}

    model.zero_grad()
    captured = []
    handle = model.embedding.register_forward_hook(lambda module, inputs, output: captured.append(output))
    clean = F.cross_entropy(model(ids, lengths), targets)
    handle.remove()
    (gradient,) = torch.autograd.grad(clean, captured[0], retain_graph=True)
    norms = gradient.flatten(1).norm(dim=1).view(-1, *[1] * (gradient.dim() - 1))
    moved = (2.0 * gradient / norms).detach()
    handle = model.embedding.register_forward_hook(lambda module, inputs, output: output + moved)
    total = clean + F.cross_entropy(model(ids, lengths), targets)
    handle.remove()
    total.backward()
    torch.testing.assert_close(loss, clean)
    assert clean_pass.correct == int((model(ids, lengths).argmax(1) == targets).sum())
    for name, p in model.named_parameters():
        torch.testing.assert_close(ours[name], p.grad, msg=name)
    assert float(clean.detach()) < float(total.detach() - clean.detach())  # the move hurts


class SummedOutputs:
    """A task whose loss is a fixed weighting of every output of the network, whatever the network is."""

    def __init__(self, call):
        self.call = call

    def loss(self, model, batch, noise=None):
        out = self.call(model, batch, noise)
        weights = torch.linspace(-1.0, 1.0, out.numel()).view(out.shape)
        return StepResult(loss=(out * weights).sum(), count=1, tokens=1)


def spelled(forms, subwords=0, chars=False):
    """Spellings of a batch whose positions read rows ``forms`` of four distinct words (row 0: padding)."""
    ngrams = torch.tensor([[0, 0, 0], [1, 2, 0], [3, 4, 5], [6, 0, 0], [2, 7, 8]]) if subwords else None
    letters = torch.tensor([[1, 0], [2, 3], [4, 0], [5, 6], [3, 3]]) if chars else None
    lengths = (letters != 0).sum(1) if chars else None  # every row read, the padding's as one <unk> character
    return Spellings(forms, chars=letters, char_lengths=lengths, ngrams=ngrams)


NETWORKS = {
    "classifier with sub-words": (
        lambda: build_model(ClassifierConfig(vocab_size=12, num_classes=3, hidden_size=8, embedding_dim=6, subwords=9)),
        lambda model, batch, noise: model(batch.ids, batch.lengths, noise, batch.spellings),
    ),
    "tagger with characters and sub-words": (
        lambda: build_model(
            TaggerConfig(
                vocab_size=12,
                num_tags=4,
                alphabet_size=8,
                char_embedding_dim=4,
                char_hidden_size=3,
                hidden_size=8,
                embedding_dim=6,
                subwords=9,
            )
        ),
        lambda model, batch, noise: model(batch.ids, batch.lengths, batch.spellings, noise),
    ),
    "language model, tied weights": (
        lambda: build_model(LanguageModelConfig(vocab_size=12, embedding_dim=8, hidden_size=8, num_layers=2)),
        lambda model, batch, noise: model(batch.ids, None, noise)[0],
    ),
}


@pytest.mark.parametrize("network", list(NETWORKS))
def test_words_embedded_once_give_the_gradients_of_two_full_passes(network, monkeypatch):
    """Adversarial training computes the words' vectors (embedding, n-grams, characters) once for both of its passes;
    every gradient, the embedding tables' above all, is what two full passes through the whole network give."""
    make, call = NETWORKS[network]
    torch.manual_seed(0)
    model = make().eval()  # no dropout: both computations see the same network
    ids, lengths = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0], [9, 3, 0, 0]]), torch.tensor([4, 2, 2])
    forms = torch.tensor([[1, 2, 3, 4], [2, 1, 0, 0], [4, 4, 0, 0]])
    spellings = spelled(forms, subwords="sub-words" in network, chars="characters" in network)
    batch, task = Batch(ids, lengths, None, spellings), SummedOutputs(call)
    adversarial_backward(model, task, batch, size=2.0)
    once = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    monkeypatch.setattr(type(model), "embedded_once", lambda self: contextlib.nullcontext())
    adversarial_backward(model, task, batch, size=2.0)
    for name, p in model.named_parameters():
        torch.testing.assert_close(once[name], p.grad, msg=name)
    assert once["embedding.weight"].abs().sum() > 0


def test_adversarial_training_learns(small_task):
    train, valid, labels, vocab_size = small_task
    model = new_model(vocab_size, len(labels))
    config = TrainConfig(epochs=6, lr=2e-2, batch_size=32, adversarial=1.0)  # 1.0: embeddings of 16, not 128
    result = fit(model, train, valid, labels, config, progress=False)
    assert max(r["valid_accuracy"] for r in result.history) > 0.4  # six classes: chance is under 0.3


@pytest.mark.parametrize(("metric", "best"), [(None, 2), ("macro_f1", 2), ("accuracy", 1)])
def test_best_epoch_is_chosen_by_macro_f1_unless_asked_otherwise(small_task, monkeypatch, metric, best):
    """Epoch 1 is more accurate but ignores a class (macro-F1 0.5); epoch 2 serves both. The default keeps epoch 2."""
    train, valid, labels, vocab_size = small_task
    reports = iter([{"accuracy": 0.9, "macro_f1": 0.5}, {"accuracy": 0.8, "macro_f1": 0.7}])
    monkeypatch.setattr("rnnkit.tasks.classify.objective.classification_report", lambda *args: next(reports))
    config = TrainConfig(epochs=2) if metric is None else TrainConfig(epochs=2, metric=metric)
    result = fit(new_model(vocab_size, len(labels)), train, valid, labels, config, progress=False)
    assert result.best_epoch == best
