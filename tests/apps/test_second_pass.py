"""A new user's second pass (issue 26): friction found by trying rnnkit on files of one's own. Each case failed
before its fix; through the real command line where the user meets it."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from checks import one_line_error

import rnnkit
from rnnkit.data.labels import label_problems
from rnnkit.errors import ModelFileError, RnnkitWarning

DATA = Path(__file__).parents[1] / "data"
TINY = ["--hidden", "8", "--embedding-dim", "8", "--epochs", "1", "--ensemble", "1", "--adversarial", "0", "-q"]


def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "rnnkit", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def reviews(path: Path, rows: list[list[str]]) -> Path:
    """TREC's questions under the column names a user's own file might have: ``review`` and ``stars``."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "stars", "review"])
        writer.writerows([str(i), label, text] for i, (label, text) in enumerate(rows))
    return path


def trec_rows(name: str) -> list[list[str]]:
    with (DATA / name).open(encoding="utf-8") as f:
        return [[row["label"], row["text"]] for row in csv.DictReader(f)]


# ------------------------------------------------------------------- 8. evaluate reads the training columns
def test_evaluate_reads_the_columns_the_model_was_trained_on(tmp_path):
    train = reviews(tmp_path / "mine.csv", trec_rows("trec_train.csv"))
    test = reviews(tmp_path / "mine_test.csv", trec_rows("trec_test.csv"))
    args = ["train", train, "--text-column", "review", "--label-column", "stars", "--out", tmp_path / "m", *TINY]
    assert cli(*args).returncode == 0
    result = cli("evaluate", tmp_path / "m", test, "--report", tmp_path / "report.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["source"] == str(test) and 0 < report["accuracy"] <= 1
    assert "'review'" in result.stderr and "'stars'" in result.stderr  # the summary names the columns it read
    python = rnnkit.load(tmp_path / "m").evaluate(test)  # and in Python
    assert python["accuracy"] == report["accuracy"]
    exported = tmp_path / "m.onnx"
    assert cli("export", tmp_path / "m", exported).returncode == 0
    assert rnnkit.load(exported).evaluate(test)["accuracy"] == pytest.approx(report["accuracy"])


# ------------------------------------------------------------------- 9. many doubtful labels: one line, first
def test_hundreds_of_doubtful_labels_are_one_warning_said_after_the_refusal_of_out(tmp_path):
    rows = [[f"label {i}", f"text number {i}"] for i in range(500)] + [["a", "b"]] * 10
    data = reviews(tmp_path / "wrong.csv", rows)
    problems = label_problems([r[0] for r in rows], "wrong.csv", list(range(2, 512)))
    assert len(problems) == 1 and "500 of 501 labels have fewer than 5 rows" in problems[0]
    assert "'label 0'" in problems[0] and "'label 3'" not in problems[0] and "--label-column" in problems[0]
    finished = tmp_path / "finished"
    assert cli("train", DATA / "trec_train.csv", "--out", finished, *TINY).returncode == 0
    refused = cli("train", data, "--text-column", "review", "--label-column", "stars", "--out", finished, *TINY)
    one_line_error(refused, "holds a finished model")  # refused first: no warning before it
    warned = cli("train", data, "--text-column", "review", "--label-column", "stars", "--out", tmp_path / "n", *TINY)
    assert len([line for line in warned.stderr.splitlines() if "fewer than 5 rows" in line]) == 1, warned.stderr


# ------------------------------------------------------------------------------------------------ 11. hints
def test_temperature_zero_points_to_top_k_one(tmp_path):
    model = tmp_path / "lm"
    args = ["train", DATA / "shakespeare_sample.txt", "--task", "lm", "--hidden", "8", "--embedding-dim", "8"]
    assert cli(*args, "--layers", "1", "--epochs", "1", "--out", model, "-q").returncode == 0
    one_line_error(cli("generate", model, "--temperature", "0"), "--temperature must be greater than 0", "--top-k 1")


def test_a_weight_that_does_not_fit_a_hand_edited_config_names_config_json(tmp_path):
    model = tmp_path / "m"
    assert cli("train", DATA / "trec_train.csv", "--out", model, *TINY).returncode == 0
    config = json.loads((model / "config.json").read_text())
    config["model"]["hidden_size"] = 9  # a hand edit: the weights were saved for 8
    (model / "config.json").write_text(json.dumps(config))
    edited = r"the model expects .*; config\.json's model settings .* was config\.json edited\?"
    with pytest.raises(ModelFileError, match=edited):
        rnnkit.load(model)
    one_line_error(cli("predict", model, "a text"), "was config.json edited?")


def test_a_test_file_that_is_the_training_file_is_warned_about(tmp_path):
    args = ["train", DATA / "trec_train.csv", "--test", DATA / "trec_train.csv", "--out", tmp_path / "m", *TINY]
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    assert "warning: --test" in result.stderr and "is the training file" in result.stderr
    with pytest.warns(RnnkitWarning, match="is the training file"):
        rnnkit.train(DATA / "trec_train.csv", valid=DATA / "trec_train.csv", out=tmp_path / "p", hidden=8,
                     embedding_dim=8, epochs=1, ensemble=1, adversarial=0, quiet=True)  # fmt: skip
