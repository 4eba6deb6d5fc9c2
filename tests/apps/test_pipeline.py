"""The saved model: round trip, prediction, evaluation, and refusal of damaged or foreign directories."""

import json

import numpy as np
import pytest

import rnnkit
from rnnkit.errors import DataError, ModelFileError, RnnkitError
from rnnkit.loading import load
from rnnkit.modeldir import FORMAT_VERSION

SMALL = dict(hidden=16, embedding_dim=16, epochs=4, lr=2e-2, batch_size=32, ensemble=1, quiet=True)


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory,
):
    from pathlib import Path

    data = Path(__file__).parents[1] / "data"
    out = tmp_path_factory.mktemp("run") / "model"
    pipeline = rnnkit.train(data / "trec_train.csv", test=str(data / "trec_test.csv"), out=str(out), **SMALL)
    return pipeline, out, data


def copy_model(src, dst):
    dst.mkdir()
    for name in ("config.json", "vocab.json", "model.safetensors"):
        (dst / name).write_bytes((src / name).read_bytes())
    return dst


def test_end_to_end_train_save_load_predict(trained):
    pipeline, out, data = trained
    assert pipeline.report["accuracy"] > 0.5  # six classes; a few seconds of training on 720 questions
    assert (out / "test_report.json").exists() and (out / "train_log.jsonl").exists()
    assert not (out / "checkpoint.pt").exists()  # a finished run leaves nothing to resume
    again = load(out)
    texts = ["How many people live in Tokyo ?", "Who wrote Hamlet ?", "What is a golden parachute ?"]
    np.testing.assert_array_equal(again.predict_proba(texts), pipeline.predict_proba(texts))
    assert again.predict(texts) == pipeline.predict(texts)
    assert again.predict("Who wrote Hamlet ?") == pipeline.predict(["Who wrote Hamlet ?"])
    assert again.predict_proba([]).shape == (0, 6)
    probabilities = again.predict_proba(texts)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-5)
    report = again.evaluate(data / "trec_test.csv")
    assert report["accuracy"] == pytest.approx(pipeline.report["accuracy"])
    assert report["examples"] == 200


def test_prediction_does_not_depend_on_batch(trained):
    pipeline, _, data = trained
    texts = [line.split(",", 1)[1] for line in (data / "trec_test.csv").read_text().splitlines()[1:60]]
    together = pipeline.predict_proba(texts, batch_size=64)
    one_by_one = np.concatenate([pipeline.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)


def test_resume_with_nothing_to_resume_is_refused(tmp_path, data_dir):
    with pytest.raises(RnnkitError, match="nothing to resume: no interrupted run in"):
        rnnkit.train(data_dir / "trec_train.csv", out=str(tmp_path / "never"), resume=True, **SMALL)
    assert not (tmp_path / "never").exists()


def test_label_indices_take_any_iterable(trained):
    pipeline, _, _ = trained
    wanted = ["HUM", "LOC", "HUM"]
    expected = [pipeline.labels.index(label) for label in wanted]
    assert pipeline.label_indices(wanted) == expected
    assert pipeline.label_indices(label for label in wanted) == expected  # a generator was read as empty


def test_unknown_label_at_evaluation(trained, tmp_path):
    pipeline, _, _ = trained
    bad = tmp_path / "bad.csv"
    bad.write_text("label,text\nHUM,Who is it ?\nWEATHER,Will it rain ?\n")
    with pytest.raises(DataError, match=r"label\(s\) 'WEATHER' never seen in training; the model knows ABBR"):
        pipeline.evaluate(bad)


def test_missing_file(trained, tmp_path):
    _, out, _ = trained
    model = copy_model(out, tmp_path / "m")
    (model / "vocab.json").unlink()
    with pytest.raises(ModelFileError, match="missing vocab.json"):
        load(model)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_weights(trained, tmp_path, damage):
    _, out, _ = trained
    model = copy_model(out, tmp_path / "m")
    weights = model / "model.safetensors"
    data = weights.read_bytes()
    if damage == "truncate":
        weights.write_bytes(data[: len(data) // 2])
    else:
        weights.write_bytes(data[:-10] + bytes(b ^ 0xFF for b in data[-10:]))
    with pytest.raises(ModelFileError, match="damaged or truncated"):
        load(model)


def test_newer_format_and_foreign_directory(trained, tmp_path):
    _, out, _ = trained
    model = copy_model(out, tmp_path / "m")
    config = json.loads((model / "config.json").read_text())
    config["format_version"] = FORMAT_VERSION + 1
    (model / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=rf"model format {FORMAT_VERSION + 1} .* upgrade rnnkit"):
        load(model)
    (model / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelFileError, match="not an rnnkit model"):
        load(model)
    (model / "config.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load(model)
    with pytest.raises(ModelFileError, match="no such model directory"):
        load(tmp_path / "nowhere")


def test_weights_that_do_not_fit_the_config(trained, tmp_path):
    _, out, _ = trained
    model = copy_model(out, tmp_path / "m")
    config = json.loads((model / "config.json").read_text())
    config["model"]["hidden_size"] = 32
    (model / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="has shape"):
        load(model)
    config["model"]["hidden_size"] = 16
    config["labels"] = config["labels"][:-1]
    (model / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="lists 5 labels but the model has 6 classes"):
        load(model)


def test_one_class_only_and_unknown_options(tmp_path):
    data = tmp_path / "one.csv"
    data.write_text("label,text\nx,a\nx,b\nx,c\n")
    with pytest.raises(DataError, match="one class only"):
        rnnkit.train(data, out=str(tmp_path / "o"), **SMALL)
    with pytest.raises(TypeError, match="unknown option"):
        rnnkit.train(data, hiddn=3)
    with pytest.raises(RnnkitError, match="--cell must be one of lstm, gru, rnn"):
        rnnkit.train(data, cell="tcn")


def test_test_labels_unseen_in_training_are_refused_before_training(tmp_path, data_dir):
    test = tmp_path / "test.csv"
    test.write_text("label,text\nHUM,Who is it ?\nWEATHER,Will it rain ?\n")
    out = tmp_path / "run"
    with pytest.raises(DataError, match=r"'WEATHER' never occur in the training data"):
        rnnkit.train(data_dir / "trec_train.csv", test=str(test), out=str(out), **SMALL)
    assert not out.exists()  # refused before any training or writing


def test_ensemble_member_one_is_the_single_network_and_the_ensemble_round_trips(trained, tmp_path):
    import torch

    single, _, data = trained
    options = dict(SMALL, ensemble=2)
    ensemble = rnnkit.train(
        data / "trec_train.csv", test=str(data / "trec_test.csv"), out=str(tmp_path / "e"), **options
    )
    assert ensemble.model_config.members == 2
    assert [m["seed"] for m in ensemble.training["members"]] == [0, 7919]
    first = ensemble.model.members[0].state_dict()
    for name, tensor in single.model.state_dict().items():  # same seed, same data: the same network, exactly
        assert torch.equal(tensor, first[name]), name
    assert not torch.equal(first["output.weight"], ensemble.model.members[1].state_dict()["output.weight"])
    assert (tmp_path / "e" / "member-2" / "train_log.jsonl").exists()
    assert not list((tmp_path / "e").glob("**/checkpoint.pt"))
    again = load(tmp_path / "e")
    texts = ["Who wrote Hamlet ?", "How far is the moon ?"]
    np.testing.assert_array_equal(again.predict_proba(texts), ensemble.predict_proba(texts))
    assert again.evaluate(data / "trec_test.csv")["accuracy"] == pytest.approx(ensemble.report["accuracy"])
    assert ensemble.training["valid"] is None  # the fast preset trains on every row: the training texts say
    assert 0 <= ensemble.training["train_baseline"]["accuracy"] <= 1  # whether it beat always answering one class
