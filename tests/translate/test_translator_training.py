"""End to end on 600 Tatoeba pairs and a tiny network, through rnnkit.train: a translator trains, checkpoints,
resumes to identical weights, saves as a model directory of the shared format, and that directory translates
without torch as torch does."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import rnnkit
import rnnkit.training.trainer as trainer
from rnnkit.errors import ModelFileError, RnnkitError
from rnnkit.modeldir import read_model_dir
from rnnkit.tasks.translate.data import read_pairs
from rnnkit.tasks.translate.objective import StepBudget, TranslateTask, encode_pairs
from rnnkit.tasks.translate.scoring import translation_scores
from rnnkit.tasks.translate.train import plan_steps
from rnnkit.training.trainer import TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")
DATA = Path(__file__).parents[1] / "data"
TINY = {
    "task": "translate",
    "pieces": 400,
    "embedding_dim": 24,
    "hidden": 24,
    "decoder_hidden": 32,
    "batch_size": 32,
    "epochs": 3,
    "dropout": 0.1,
    "lr": 5e-3,
    "beam": 3,
    "quiet": True,
}


@pytest.fixture(scope="module")
def pairs():
    return DATA / "tatoeba_eng_fra_train_sample.tsv"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, pairs):
    run = tmp_path_factory.mktemp("run") / "model"
    return rnnkit.train(pairs, out=str(run), **TINY), run


def test_it_learns_and_validates_by_bleu(trained):
    translator, run = trained
    history = translator.training["members"][0]["history"]
    losses = [record["valid_loss"] for record in history]
    assert len(losses) == 3 and losses[2] < losses[1] < losses[0]
    assert history[2]["train_loss"] < history[0]["train_loss"] - 0.5
    assert all(0 <= record["valid_bleu"] <= 100 and record["valid_chrf"] > 0 for record in history)
    best = translator.training["members"][0]["best_epoch"]
    assert best == max(range(3), key=lambda i: history[i]["valid_bleu"]) + 1
    assert translator.training["valid"]["bleu"] == history[best - 1]["valid_bleu"]
    assert sorted(p.name for p in run.iterdir() if p.suffix in (".json", ".spm", ".safetensors")) == [
        "config.json", "model.safetensors", "source.spm", "target.spm",
    ]  # fmt: skip


def test_resumed_training_ends_with_the_same_weights(trained, pairs, tmp_path, monkeypatch):
    translator, _ = trained
    real = trainer.save_checkpoint

    def save_then_stop(run_dir, state):
        real(run_dir, state)
        if state["epoch"] == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        rnnkit.train(pairs, out=str(tmp_path / "run"), **TINY)
    monkeypatch.setattr(trainer, "save_checkpoint", real)
    with pytest.raises(RnnkitError, match="differ from the interrupted run"):
        rnnkit.train(pairs, out=str(tmp_path / "run"), resume=True, **{**TINY, "lr": 1e-3})
    resumed = rnnkit.train(pairs, out=str(tmp_path / "run"), resume=True, **TINY)
    for name, value in translator.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name


def test_the_directory_translates_without_torch_as_torch_does(trained):
    translator, run = trained
    texts = ["I love you.", "Where is the station?", "Tom is here.", "", "We should go home now."]
    on_torch = rnnkit.load(run, engine="torch")
    expected = {
        "beam": on_torch.translate(texts),
        "greedy": on_torch.translate(texts, beam=1),
        "nbest": [[list(t) for t in ts] for ts in on_torch.translate(texts[:2], beam=4, n_best=3)],
    }
    assert expected["beam"][3] == "" and any(expected["beam"][i] for i in (0, 1, 2, 4))
    assert translator.translate(texts) == expected["beam"]  # the trained pipeline, on onnxruntime
    code = (
        "import sys, json; sys.modules['torch'] = None\n"
        "from rnnkit.loading import load_onnx\n"
        f"t = load_onnx({str(run)!r})\n"
        f"texts = {texts!r}\n"
        "print(json.dumps({'engine': type(t).__name__, 'beam': t.translate(texts),"
        " 'greedy': t.translate(texts, beam=1),"
        " 'nbest': [[list(x) for x in ts] for ts in t.translate(texts[:2], beam=4, n_best=3)]}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got.pop("engine") == "OnnxTranslator"
    assert got["beam"] == expected["beam"] and got["greedy"] == expected["greedy"]
    for ours, theirs in zip(got["nbest"], expected["nbest"], strict=True):
        assert [t for t, _ in ours] == [t for t, _ in theirs]
        assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], abs=1e-4)


def test_the_model_searches_as_it_was_trained_to(trained, pairs, tmp_path):
    translator, run = trained
    assert translator.decoding.beam == 3 and rnnkit.load(run).decoding.beam == 3
    assert read_model_dir(run).training["options"]["beam"] == 3


def test_a_damaged_directory_is_refused_in_one_line(trained, tmp_path):
    translator, _ = trained
    directory = translator.save(tmp_path / "model")
    with pytest.raises(RnnkitError, match="holds a finished model"):
        translator.save(tmp_path / "model")
    target = directory / "target.spm"
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="target.spm: checksum does not match"):
        rnnkit.load(directory)
    (directory / "target.spm").unlink()
    with pytest.raises(ModelFileError, match="missing target.spm"):
        rnnkit.load(directory)


def test_evaluation_scores_every_reference(trained):
    translator, _ = trained
    report = translator.evaluate(DATA / "tatoeba_eng_fra_valid_sample.tsv", beam=2, per_sentence=True)
    assert report["pairs"] == 150 and report["sentences"] == len(report["translations"]) <= 150
    assert report["references"] == 150 and report["bleu_signature"].startswith("nrefs:var")
    rows = report["translations"]
    again = translation_scores([r["translation"] for r in rows], [r["references"] for r in rows])
    assert again["bleu"] == report["bleu"] and report["chrf"] > 0
    assert sorted(len(r["references"]) for r in rows)[-1] > 1  # a source with several translations, scored once


def test_a_step_budget_runs_the_schedule_over_its_steps(trained, pairs):
    translator, _ = trained
    task = TranslateTask(encode_pairs(read_pairs(pairs), translator.source_pieces, translator.target_pieces), None, 32)
    budget = StepBudget(task, len(task) + 5)
    first, second = list(budget.batches(1)), list(budget.batches(2))
    assert len(budget) == len(first) == len(second) == len(task) + 5
    assert torch.equal(first[len(task)].ids, list(task.batches(2))[0].ids)  # on into the task's next epoch
    assert not torch.equal(first[0].ids, second[0].ids)
    assert plan_steps(translator.model, task, TrainConfig(), 0.01) >= 1


def test_minutes_without_epochs_are_planned_as_steps(pairs, tmp_path):
    options = {k: v for k, v in TINY.items() if k != "epochs"}
    model = rnnkit.train(pairs, out=str(tmp_path / "run"), max_minutes=0.05, **options)
    assert model.training["options"]["epochs"] is None
    history = model.training["members"][0]["history"]
    assert len(history) == 1 and history[0]["valid_bleu"] >= 0
    assert not (tmp_path / "run" / "planned_steps.json").exists()
