"""``--self-train``: the teacher's pseudo-labels are exactly the unlabelled texts whose most probable class reaches the
confidence, with that class; the model then learns from the labelled and the pseudo-labelled texts, afresh; a
resumed run takes the labels its teacher gave and does not train it again; the options are checked in one line."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from checks import one_line_error

import rnnkit
import rnnkit.tasks.classify.train as classify_training
from rnnkit.api import train_options
from rnnkit.data import read_examples
from rnnkit.errors import RnnkitError, RnnkitWarning
from rnnkit.tasks import build as build_model
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.classify.objective import predict_logits
from rnnkit.tasks.classify.selftraining import pseudo_labels, save_pseudo_labels, saved_pseudo_labels

pytestmark = pytest.mark.usefixtures("one_thread")
DATA = Path(__file__).parents[1] / "data"
SMALL = dict(epochs=4, lr=0.03, ensemble=1, hidden=16, embedding_dim=16, subwords=0, adversarial=0.0, quiet=True)


def test_pseudo_labels_are_the_texts_whose_most_probable_class_reaches_the_confidence(small_task):
    train, _, labels, vocab_size = small_task
    torch.manual_seed(0)
    config = ClassifierConfig(vocab_size=vocab_size, num_classes=len(labels), embedding_dim=8, hidden_size=8)
    model = build_model(config).eval()
    by_hand = []
    with torch.no_grad():  # each text alone: no batch, no padding
        for i in range(len(train)):
            ids = train.ids[train.offsets[i] : train.offsets[i] + train.lengths[i]]
            by_hand.append(torch.softmax(model(ids[None], train.lengths[i : i + 1]), dim=1)[0].numpy())
    probabilities = np.stack(by_hand)
    highest = np.sort(probabilities.max(1))
    between = [(highest[k] + highest[k + 1]) / 2 for k in (len(highest) // 4, len(highest) // 2)]  # some in, some out
    for confidence in (0.0, *between, 1.0):
        kept, predicted = pseudo_labels(model, train, confidence)
        expected = np.flatnonzero(probabilities.max(1) >= confidence)
        assert kept.tolist() == expected.tolist()
        assert predicted.tolist() == probabilities[expected].argmax(1).tolist()
    assert len(pseudo_labels(model, train, between[0])[0]) > len(pseudo_labels(model, train, between[1])[0]) > 0


def test_saved_pseudo_labels_belong_to_their_run_and_fit_the_texts(tmp_path):
    kept, labels, teacher = np.array([0, 3, 7]), np.array([1, 0, 1]), [{"seed": 0, "best_epoch": 2, "history": []}]
    save_pseudo_labels(tmp_path, "run", kept, labels, teacher)
    again = saved_pseudo_labels(tmp_path, "run", texts=8, classes=2)
    assert again is not None and again[0].tolist() == [0, 3, 7] and again[1].tolist() == [1, 0, 1]
    assert again[2] == teacher
    assert saved_pseudo_labels(tmp_path, "another run", texts=8, classes=2) is None
    assert saved_pseudo_labels(tmp_path, "run", texts=7, classes=2) is None  # text 7 is not there
    assert saved_pseudo_labels(tmp_path, "run", texts=8, classes=1) is None  # nor class 1
    (tmp_path / "pseudo_labels.json").write_text('{"fingerprint": "run", "kept": [1], "labels": "x"}')
    assert saved_pseudo_labels(tmp_path, "run", texts=8, classes=2) is None
    (tmp_path / "pseudo_labels.json").write_text("{half a fi")
    assert saved_pseudo_labels(tmp_path, "run", texts=8, classes=2) is None


def unlabelled_questions(tmp_path) -> tuple[Path, list[str]]:
    """The TREC test questions, as unlabelled text."""
    texts = read_examples(DATA / "trec_test.csv").texts
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path, texts


@pytest.mark.filterwarnings("ignore::rnnkit.errors.RnnkitWarning")  # a small teacher leaves out classes
def test_the_model_learns_from_the_labels_and_the_teachers_confident_labels(tmp_path, monkeypatch):
    path, texts = unlabelled_questions(tmp_path)
    fitted = []  # (model, texts it trained on, their labels) for the teacher, then the model

    def recording(model, train, *args, **kwargs):
        first = [p.detach().clone() for p in model.parameters()]
        fitted.append((model, first, len(train), train.labels.clone()))
        return fit_classifier(model, train, *args, **kwargs)

    fit_classifier = classify_training.fit_classifier
    monkeypatch.setattr(classify_training, "fit_classifier", recording)
    pipeline = rnnkit.train(
        DATA / "trec_train.csv", unlabeled=path, self_train=True, self_train_confidence=0.5, self_train_epochs=1,
        out=tmp_path / "run", **SMALL,
    )  # fmt: skip
    (teacher, _, taught, _), (model, start, learned, labels) = fitted
    assert model is pipeline.model and teacher is not model
    record = pipeline.training["self_training"]
    probabilities = torch.softmax(predict_logits(teacher, pipeline.encode(texts)), dim=1)
    confident = probabilities.max(1).values >= 0.5
    assert record["unlabeled"] == len(texts) and 0 < record["pseudo_labeled"] == int(confident.sum()) < len(texts)
    assert learned == taught + record["pseudo_labeled"]  # the labelled texts and the confident ones
    pseudo = [pipeline.labels[i] for i in labels[taught:].tolist()]
    assert pseudo == [pipeline.labels[i] for i in probabilities.argmax(1)[confident].tolist()]
    assert sum(record["pseudo_label_counts"].values()) == record["pseudo_labeled"]
    teacher_weights = dict(teacher.named_parameters())  # the model starts afresh, not from the teacher
    assert not all(
        torch.equal(p, teacher_weights[n]) for (n, _), p in zip(model.named_parameters(), start, strict=True)
    )
    assert len(pipeline.training["members"][0]["history"]) == 1  # --self-train-epochs
    assert len(record["teacher_members"][0]["history"]) == 4  # --epochs
    assert not (tmp_path / "run" / "teacher").exists()  # a finished run leaves its model only


@pytest.mark.filterwarnings("ignore::rnnkit.errors.RnnkitWarning")  # a small teacher leaves out classes
def test_a_resumed_run_takes_the_labels_its_teacher_gave(tmp_path, monkeypatch):
    path, _ = unlabelled_questions(tmp_path)
    run = dict(unlabeled=path, self_train=True, self_train_epochs=1, out=tmp_path / "run", **SMALL)
    fit_classifier, calls = classify_training.fit_classifier, []

    def interrupted_after_the_teacher(model, train, run_dir, *args, **kwargs):
        calls.append(run_dir.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return fit_classifier(model, train, run_dir, *args, **kwargs)

    monkeypatch.setattr(classify_training, "fit_classifier", interrupted_after_the_teacher)
    with pytest.raises(KeyboardInterrupt):
        rnnkit.train(DATA / "trec_train.csv", **run)
    assert calls == ["teacher", "run"]
    with pytest.raises(RnnkitError, match="holds an interrupted run: add --resume"):  # the teacher's checkpoint
        rnnkit.train(DATA / "trec_train.csv", **run)
    taught = json.loads((tmp_path / "run" / "teacher" / "pseudo_labels.json").read_text())["kept"]
    calls.clear()

    def once(model, train, run_dir, *args, **kwargs):
        calls.append(run_dir.name)
        return fit_classifier(model, train, run_dir, *args, **kwargs)

    monkeypatch.setattr(classify_training, "fit_classifier", once)
    pipeline = rnnkit.train(DATA / "trec_train.csv", resume=True, **run)
    assert calls == ["run"]  # the teacher is not trained again
    record = pipeline.training["self_training"]
    assert record["pseudo_labeled"] == len(taught)
    assert len(record["teacher_members"][0]["history"]) == 4  # the teacher's record, kept when it was not retrained


def test_no_confident_label_is_warned_and_the_model_learns_from_the_labels(tmp_path):
    path, _ = unlabelled_questions(tmp_path)
    with pytest.warns(RnnkitWarning, match="no unlabelled text a label with confidence >= 1"):
        pipeline = rnnkit.train(
            DATA / "trec_train.csv", unlabeled=path, self_train=True, self_train_confidence=1.0, out=tmp_path / "r",
            **{**SMALL, "epochs": 1},
        )  # fmt: skip
    assert pipeline.training["self_training"]["pseudo_labeled"] == 0


def test_self_training_options_are_checked_in_one_line(tmp_path):
    for options, message in [
        ({"self_train": True}, "give them with --unlabeled"),
        ({"self_train": True, "unlabeled": "x.txt", "task": "lm"}, "option of classify models"),
        ({"self_train": True, "unlabeled": "x.txt", "self_train_confidence": 1.5}, r"must be in \[0, 1\]"),
        ({"self_train": True, "unlabeled": "x.txt", "self_train_epochs": 0}, "at least 1"),
    ]:
        with pytest.raises(RnnkitError, match=message):
            rnnkit.train(DATA / "trec_train.csv", **options, out=tmp_path / "x", quiet=True)
    result = subprocess.run(
        [sys.executable, "-m", "rnnkit", "train", str(DATA / "trec_train.csv"), "--self-train"],
        capture_output=True, text=True,
    )  # fmt: skip
    one_line_error(result, "--unlabeled")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        options = train_options(None, {"self_train": True, "unlabeled": "x.txt"})
    assert options.self_train_confidence == 0.8 and options.self_train_epochs is None


def test_a_class_the_teacher_never_gives_is_warned(tmp_path, monkeypatch):
    path, texts = unlabelled_questions(tmp_path)

    def everything_is_the_first_class(model, data, confidence):
        return np.arange(len(data)), np.zeros(len(data), dtype=np.int64)

    monkeypatch.setattr(classify_training, "pseudo_labels", everything_is_the_first_class)
    with pytest.warns(RnnkitWarning, match="no unlabelled text the label.s. 'DESC', 'ENTY', 'HUM', 'LOC', 'NUM'"):
        pipeline = rnnkit.train(
            DATA / "trec_train.csv", unlabeled=path, self_train=True, out=tmp_path / "r", **{**SMALL, "epochs": 1}
        )
    assert pipeline.training["self_training"]["pseudo_label_counts"]["ABBR"] == len(texts)
