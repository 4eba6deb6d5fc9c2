"""End to end on 600 Tatoeba pairs and a tiny network: a translator trains, checkpoints, resumes to identical
weights, saves, and its directory translates without torch as torch does."""

import json
import subprocess
import sys

import pytest
import torch

from rnnkit.errors import ModelFileError, RnnkitError
from rnnkit.tasks.translate.data import read_pairs
from rnnkit.tasks.translate.fit import TranslateSettings, plan_steps, train_translator
from rnnkit.tasks.translate.objective import StepBudget, TranslateTask, encode_pairs
from rnnkit.tasks.translate.saving import load_translator, read_translator_dir, save_translator
from rnnkit.tasks.translate.scoring import translation_scores
from rnnkit.training.trainer import TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = {
    "subwords": 400,
    "embedding_dim": 24,
    "encoder_hidden_size": 24,
    "decoder_hidden_size": 32,
    "batch_size": 32,
    "epochs": 3,
    "dropout": 0.1,
    "lr": 5e-3,
    "beam": 3,
}


class Stop(KeyboardInterrupt):
    pass


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from conftest import DATA

    run = tmp_path_factory.mktemp("run")
    translator, result = train_translator(
        DATA / "tatoeba_eng_fra_train_sample.tsv", settings=TranslateSettings(**TINY), run_dir=run, progress=False
    )
    return translator, result, run


def test_it_learns_and_validates_by_bleu(trained):
    translator, result, _ = trained
    losses = [record["valid_loss"] for record in result.history]
    assert len(losses) == 3 and losses[2] < losses[1] < losses[0]
    assert result.history[2]["train_loss"] < result.history[0]["train_loss"] - 0.5
    assert all(0 <= record["valid_bleu"] <= 100 and record["valid_chrf"] > 0 for record in result.history)
    assert result.best_epoch == max(range(3), key=lambda i: result.history[i]["valid_bleu"]) + 1


def test_resumed_training_ends_with_the_same_weights(trained, tmp_path):
    from conftest import DATA

    translator, _, _ = trained
    settings = TranslateSettings(**TINY)
    data = DATA / "tatoeba_eng_fra_train_sample.tsv"

    def stop_after_first(record):
        if record["epoch"] == 1:
            raise Stop

    with pytest.raises(Stop):
        train_translator(data, settings=settings, run_dir=tmp_path, progress=False, on_epoch_end=stop_after_first)
    resumed, _ = train_translator(data, settings=settings, run_dir=tmp_path, resume=True, progress=False)
    for name, value in translator.network.state_dict().items():
        assert torch.equal(value, resumed.network.state_dict()[name]), name
    with pytest.raises(RnnkitError, match="differ from the interrupted run"):
        train_translator(data, settings=TranslateSettings(**{**TINY, "lr": 1e-3}), run_dir=tmp_path, resume=True)


def test_the_directory_translates_without_torch_as_torch_does(trained, tmp_path):
    translator, _, _ = trained
    texts = ["I love you.", "Where is the station?", "Tom is here.", "", "We should go home now."]
    expected = {
        "beam": translator.translate(texts),
        "greedy": translator.translate(texts, beam=1),
        "nbest": [[list(t) for t in ts] for ts in translator.translate(texts[:2], beam=4, n_best=3)],
    }
    assert expected["beam"][3] == "" and any(expected["beam"][i] for i in (0, 1, 2, 4))
    save_translator(translator, tmp_path / "model", training={"epochs": 3})
    with pytest.raises(RnnkitError, match="holds a model already"):
        save_translator(translator, tmp_path / "model")
    code = (
        "import sys, json; sys.modules['torch'] = None\n"
        "from rnnkit.tasks.translate.saving import load_translator\n"
        f"t = load_translator({str(tmp_path / 'model')!r})\n"
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
    on_torch = load_translator(tmp_path / "model", engine="torch")
    assert on_torch.translate(texts) == expected["beam"]
    assert read_translator_dir(tmp_path / "model").training == {"epochs": 3}


def test_a_damaged_directory_is_refused_in_one_line(trained, tmp_path):
    translator, _, _ = trained
    directory = save_translator(translator, tmp_path / "model")
    target = directory / "target.spm"
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="target.spm: checksum does not match"):
        read_translator_dir(directory)
    (directory / "target.spm").unlink()
    with pytest.raises(ModelFileError, match="missing target.spm"):
        read_translator_dir(directory)


def test_evaluation_scores_every_reference(trained):
    from conftest import DATA

    translator, _, _ = trained
    report = translator.evaluate(DATA / "tatoeba_eng_fra_valid_sample.tsv", beam=2, per_sentence=True)
    assert report["pairs"] == 150 and report["sentences"] == len(report["translations"]) <= 150
    assert report["references"] == 150 and report["bleu_signature"].startswith("nrefs:var")
    rows = report["translations"]
    again = translation_scores([r["translation"] for r in rows], [r["references"] for r in rows])
    assert again["bleu"] == report["bleu"] and report["chrf"] > 0
    assert sorted(len(r["references"]) for r in rows)[-1] > 1  # a source with several translations, scored once


def test_a_step_budget_runs_the_schedule_over_its_steps(trained):

    translator, _, _ = trained
    from conftest import DATA

    pairs = read_pairs(DATA / "tatoeba_eng_fra_train_sample.tsv")
    task = TranslateTask(encode_pairs(pairs, translator.source_pieces, translator.target_pieces), None, 32)
    budget = StepBudget(task, len(task) + 5)
    first, second = list(budget.batches(1)), list(budget.batches(2))
    assert len(budget) == len(first) == len(second) == len(task) + 5
    assert torch.equal(first[len(task)].ids, list(task.batches(2))[0].ids)  # on into the task's next epoch
    assert not torch.equal(first[0].ids, second[0].ids)
    assert plan_steps(translator.network, task, TrainConfig(), 0.01) >= 1
