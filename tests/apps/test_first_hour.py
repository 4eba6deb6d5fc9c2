"""A new user's first hour (issue 17): no finished model overwritten, no stray label or useless model in silence,
the columns used on record, and the Python keywords the command line's options."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from unittest.mock import ANY

import pytest
from checks import one_line_error

import rnnkit
from rnnkit.errors import DataError, RnnkitError, RnnkitWarning
from rnnkit.plots import plots_available
from rnnkit.rundir import data_name

# One epoch on a few dozen texts learns little, and says so; the tests that are about that warning catch it.
pytestmark = pytest.mark.filterwarnings("ignore::rnnkit.errors.RnnkitWarning")
DATA = Path(__file__).parents[1] / "data"
TINY = dict(hidden=8, embedding_dim=8, epochs=1, ensemble=1, adversarial=0, quiet=True)


def cli(*args, cwd=None):
    env = dict(os.environ, PYTHONWARNINGS="error::UserWarning")
    return subprocess.run(
        [sys.executable, "-m", "rnnkit.cli", *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd
    )


def run_files(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*")}


# ------------------------------------------------------------------------------------------ 2. finished models
def test_a_finished_model_in_out_is_refused_before_any_work(tmp_path):
    out = tmp_path / "x"
    first = rnnkit.train(DATA / "trec_train.csv", test=str(DATA / "trec_test.csv"), out=str(out), **TINY)
    before = {name: (out / name).read_bytes() for name in ("config.json", "model.safetensors", "test_report.json")}
    with pytest.raises(RnnkitError, match=rf"{out} holds a finished model: .* add --overwrite to replace it"):
        rnnkit.train(DATA / "germeval_sample.csv", out=str(out), **TINY)
    assert {name: (out / name).read_bytes() for name in before} == before  # untouched
    assert rnnkit.load(out).labels == first.labels


def test_overwrite_removes_everything_of_the_old_run(tmp_path):
    out = tmp_path / "x"
    rnnkit.train(DATA / "trec_train.csv", test=str(DATA / "trec_test.csv"), out=str(out), **{**TINY, "ensemble": 2})
    (out / "notes.txt").write_text("the user's own file")
    assert {"test_report.json", "member-1/train_log.jsonl", "member-2/train_log.jsonl"} <= run_files(out)
    (out / "curves.png").write_bytes(b"the old run's curves")  # drawn where matplotlib is installed: gone either way
    second = rnnkit.train(DATA / "germeval_sample.csv", out=str(out), overwrite=True, **TINY)
    drawn = {"curves.png"} if plots_available() else set()
    assert run_files(out) == {"config.json", "vocab.json", "model.safetensors", "train_log.jsonl", "notes.txt"} | drawn
    assert not drawn or (out / "curves.png").read_bytes().startswith(b"\x89PNG")
    assert rnnkit.load(out).labels == second.labels == ["0", "1"]


def test_overwrite_without_out_replaces_the_default_run_directory(tmp_path):
    data = tmp_path / "reviews.csv"
    data.write_bytes((DATA / "germeval_sample.csv").read_bytes())
    options = dict(TINY, valid_split=0.0)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert rnnkit.train(data, **options).run_dir == Path("runs/reviews")
        assert rnnkit.train(data, **options).run_dir == Path("runs/reviews-2")  # numbered: nothing lost
        assert rnnkit.train(data, overwrite=True, **options).run_dir == Path("runs/reviews")
    finally:
        os.chdir(cwd)


def test_pipeline_save_refuses_a_finished_model_unless_asked(tmp_path):
    out = tmp_path / "x"
    pipeline = rnnkit.train(DATA / "germeval_sample.csv", test=str(DATA / "germeval_sample.csv"), out=str(out), **TINY)
    with pytest.raises(RnnkitError, match=r"holds a finished model: .* pass overwrite=True"):
        pipeline.save(out)
    pipeline.save(out, overwrite=True)
    assert not (out / "test_report.json").exists()  # the old report described the old run
    assert rnnkit.load(out).labels == ["0", "1"]
    pipeline.save(tmp_path / "fresh")  # a new or empty directory needs nothing
    assert rnnkit.load(tmp_path / "fresh").labels == ["0", "1"]


def test_cli_refuses_then_overwrites(tmp_path):
    out = tmp_path / "x"
    small = ["--hidden", "8", "--embedding-dim", "8", "--epochs", "1", "--ensemble", "1", "--adversarial", "0", "-q"]
    assert cli("train", DATA / "germeval_sample.csv", "--out", out, *small).returncode == 0
    config = (out / "config.json").read_bytes()
    one_line_error(cli("train", DATA / "trec_train.csv", "--out", out, *small), "holds a finished model", "--overwrite")
    assert (out / "config.json").read_bytes() == config
    again = cli("train", DATA / "trec_train.csv", "--out", out, "--overwrite", *small)
    assert again.returncode == 0, again.stderr
    assert len(json.loads((out / "config.json").read_text())["labels"]) == 6


# ---------------------------------------------------------------------------------------------- 3. labels
def stray_label_file(tmp_path: Path) -> Path:
    rows = (DATA / "germeval_sample.csv").read_text().splitlines()
    rows[7] = "spam," + rows[7].split(",", 1)[1]
    path = tmp_path / "stray.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_stray_label_is_warned_about_and_refused_with_strict(tmp_path):
    data = stray_label_file(tmp_path)
    with pytest.warns(RnnkitWarning, match=r"label 'spam' \(1 row: line 8\) is not a number like the other labels"):
        rnnkit.train(data, out=str(tmp_path / "a"), **TINY)
    with pytest.raises(DataError, match=r"label 'spam' \(1 row: line 8\) .*\(--strict\)"):
        rnnkit.train(data, out=str(tmp_path / "b"), strict=True, **TINY)
    assert not (tmp_path / "b").exists()


def test_the_cli_shows_label_warnings_even_when_quiet(tmp_path):
    data = stray_label_file(tmp_path)
    small = ["--hidden", "8", "--embedding-dim", "8", "--epochs", "1", "--ensemble", "1", "--adversarial", "0"]
    result = cli("train", data, "--out", tmp_path / "a", "--quiet", *small)
    assert result.returncode == 0, result.stderr
    assert "warning: " in result.stderr and "label 'spam'" in result.stderr
    one_line_error(cli("train", data, "--out", tmp_path / "b", "--strict", "-q", *small), "label 'spam'", "--strict")


# --------------------------------------------------------------------------------------- 5. a useless model
def test_a_model_no_better_than_the_majority_class_is_warned_about(tmp_path):
    """Every text the same: whatever the network learns, it answers one class for all, which cannot beat the
    most frequent one."""
    data = tmp_path / "same.csv"
    data.write_text("label,text\n" + "".join(f"{'a' if i % 4 else 'b'},the same words\n" for i in range(200)))
    with pytest.warns(RnnkitWarning, match=r"no better than always answering 'a': on the validation cut .* against"):
        pipeline = rnnkit.train(data, out=str(tmp_path / "r"), **{**TINY, "valid_split": 0.1})
    assert pipeline.training["valid_baseline"]["label"] == "a"
    assert pipeline.training["valid_baseline"]["accuracy"] == pytest.approx(0.75)


def test_without_a_validation_cut_the_training_texts_show_a_useless_model(tmp_path):
    """The fast preset holds nothing out (--valid-split 0), so the warning reads the training texts instead: a
    network no better than the majority on the very texts it learnt from learnt nothing."""
    data = tmp_path / "same.csv"
    data.write_text("label,text\n" + "".join(f"{'a' if i % 4 else 'b'},the same words\n" for i in range(200)))
    with pytest.warns(RnnkitWarning, match=r"no better than always answering 'a': on its own training texts \(there"):
        pipeline = rnnkit.train(data, out=str(tmp_path / "r"), **{**TINY, "valid_split": 0})
    assert pipeline.training["valid_baseline"] is None and pipeline.training["valid"] is None
    assert pipeline.training["train_baseline"] == {"label": "a", "accuracy": pytest.approx(0.75), "macro_f1": ANY}
    assert pipeline.training["train"]["accuracy"] in (pytest.approx(0.25), pytest.approx(0.75))  # one answer for all


def test_the_fast_preset_trains_on_every_row_and_keeps_the_last_epoch(tmp_path):
    """Issue 29: a network trained on all its rows for the whole linear schedule scored higher on held-out texts
    than one trained on 90% and stopped at its best epoch; a cut, or a file, still picks the best epoch."""
    rows = len((DATA / "trec_train.csv").read_text().splitlines()) - 1
    result = cli("train", DATA / "trec_train.csv", "--out", tmp_path / "all", "--epochs", "2", "--hidden", "8",
                 "--embedding-dim", "8", "--adversarial", "0")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"all {rows:,} texts trained on, no validation: the last epoch is kept" in result.stderr
    assert "epoch 2: train_loss " in result.stderr and "no validation, so the last epoch 2 of 2" in result.stdout
    assert "training texts (no validation cut): accuracy " in result.stdout and "validation:" not in result.stdout
    every = rnnkit.load(tmp_path / "all").training
    assert every["train_examples"] == rows and every["valid_examples"] == 0 and every["valid"] is None
    assert [m["best_epoch"] for m in every["members"]] == [2]
    cut = rnnkit.train(DATA / "trec_train.csv", out=str(tmp_path / "cut"), **{**TINY, "valid_split": 0.1})
    accurate = rnnkit.train(DATA / "trec_train.csv", out=str(tmp_path / "acc"), preset="accurate", **TINY)
    for held_out in (cut.training, accurate.training):
        assert held_out["valid_examples"] == rows - held_out["train_examples"] == pytest.approx(rows / 10, abs=6)
        assert held_out["valid"] is not None
    given = rnnkit.train(DATA / "trec_train.csv", valid=str(DATA / "trec_test.csv"), out=str(tmp_path / "f"), **TINY)
    assert given.training["train_examples"] == rows and given.training["valid"] is not None


def test_a_model_that_learnt_gives_no_such_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RnnkitWarning)
        options = {**TINY, "epochs": 3, "valid_split": 0.1}
        pipeline = rnnkit.train(DATA / "trec_train.csv", out=str(tmp_path / "r"), **options)
    valid, always = pipeline.training["valid"], pipeline.training["valid_baseline"]
    assert valid["macro_f1"] > always["macro_f1"] and valid["accuracy"] > always["accuracy"]


# -------------------------------------------------------------------------------------------- 7. the smaller
def test_python_keywords_are_the_cli_options_quiet_included(tmp_path, capsys):
    rnnkit.train(DATA / "germeval_sample.csv", out=str(tmp_path / "q"), **TINY)
    assert capsys.readouterr().err == ""  # quiet=True: no bar, no summary
    with pytest.warns(DeprecationWarning, match="quiet"):  # rnnkit 0.1's keyword still works
        options = {k: v for k, v in TINY.items() if k != "quiet"}
        rnnkit.train(DATA / "germeval_sample.csv", out=str(tmp_path / "p"), progress=False, **options)
    assert capsys.readouterr().err == ""


def test_the_columns_used_are_printed_and_recorded(tmp_path, capsys):
    data = tmp_path / "export.csv"
    rows = (DATA / "germeval_sample.csv").read_text().splitlines()[1:]
    pairs = [row.replace(";", " ").split(",", 1) for row in rows]
    data.write_text("Category;Message\n" + "".join(f"{label};{text}\n" for label, text in pairs))
    options = {**TINY, "quiet": False}
    pipeline = rnnkit.train(data, out=str(tmp_path / "r"), **options)
    err = capsys.readouterr().err
    assert "text column 'Message'" in err and "label column 'Category'" in err and "';'" in err
    recorded = json.loads((tmp_path / "r" / "config.json").read_text())["training"]["data_columns"]
    assert recorded == pipeline.training["data_columns"]
    assert recorded == {"format": "csv", "delimiter": ";", "text_columns": ["Message"], "label_column": "Category"}


def test_train_docstring_names_what_exists():
    doc = rnnkit.train.__doc__
    assert 'training["history"]' not in doc and 'training["members"][k]["history"]' in doc


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("reviews.csv", "reviews"),
        ("imdb/train.csv", "imdb-train"),
        ("news.jsonl.gz", "news"),
        ("plays.txt", "plays"),  # the README's `rnnkit train plays.txt --task lm  # -> runs/plays`
        ("ud/en_ewt-ud-train.conllu", "en_ewt-ud-train"),
        ("conll2003/train.conll", "conll2003-train"),
    ],
)
def test_a_run_is_named_after_its_data_file_without_the_suffix(path, name):
    assert data_name(Path(path)) == name
