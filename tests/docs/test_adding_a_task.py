"""A fifth task, written outside rnnkit (docs/adding-a-task.md), is a task like the built-in ones: the page's blocks
run in order, then the same task, installed as another package would install it (an ``rnnkit.tasks`` entry point),
trains through the real command line with checkpoints, is killed and resumes to the weights of a run never
interrupted, and is evaluated, used and refused like any model. No file under src/ names it: the proof that the
seams are real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
from checks import one_line_error
from docpages import ROOT, code_blocks, run_blocks
from safetensors.numpy import load_file

from rnnkit import tasks

PAGE = ROOT / "docs" / "adding-a-task.md"
DATA = ROOT / "tests" / "data"
DEFINITION = 6  # the page's first six blocks define and register the task; the rest use it


@pytest.fixture
def registered_for_a_while():
    """The page registers its task in this process; take it out again, so that no other test meets it."""
    yield
    tasks.unregister("regress")


def test_every_code_block_of_the_page_runs(tmp_path, monkeypatch, registered_for_a_while, one_thread):
    python, other = code_blocks(PAGE)
    assert not other, f"fenced blocks the test does not run (not ```python): {other}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RNNKIT_DOCS_DATA", str(DATA))
    page = types.ModuleType("adding_a_task")  # a module of its own: dataclasses look their class's module up
    monkeypatch.setitem(sys.modules, page.__name__, page)
    namespace = run_blocks(PAGE, python, page.__dict__)
    model, again = namespace["model"], namespace["again"]
    words = np.array([len(row["text"].split()) for row in namespace["rows"]], dtype=float)
    always_the_mean = float(np.mean((words - words.mean()) ** 2))
    assert again.evaluate(namespace["WORK"] / "words.csv")["mse"] < always_the_mean / 2  # it learnt to count
    assert model.predict(["one two three"]) == again.predict(["one two three"])
    assert "Who wrote Hamlet ?" in namespace["result"].output


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, str]:
    """The page's task as a module of another package, found through the ``rnnkit.tasks`` entry point: the
    environment of a process that has it installed."""
    site = tmp_path_factory.mktemp("site")
    python, _ = code_blocks(PAGE)
    (site / "rnnkit_regress.py").write_text("\n\n".join(source for _, source in python[:DEFINITION]) + "\n")
    info = site / "rnnkit_regress-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rnnkit-regress\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[rnnkit.tasks]\nregress = rnnkit_regress\n")
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1")


@pytest.fixture(scope="module")
def words(tmp_path_factory) -> Path:
    """The page's data: TREC's questions, each with its number of words."""
    import csv

    path = tmp_path_factory.mktemp("data") / "words.csv"
    rows = list(csv.DictReader((DATA / "trec_train.csv").open(encoding="utf-8")))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "words"])
        writer.writerows([row["text"], len(row["text"].split())] for row in rows)
    return path


def rnnkit(env: dict[str, str], *args) -> subprocess.Popen:
    command = [sys.executable, "-m", "rnnkit", *map(str, args)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def done(process: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_the_new_task_trains_resumes_evaluates_and_predicts_through_the_command_line(installed, words, tmp_path):
    train = ["train", words, "--task", "regress", "--epochs", "3", "--checkpoint-every", "5", "--quiet"]
    whole = done(rnnkit(installed, *train, "--out", tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    assert "validation: mean squared error" in whole.stdout

    killed = tmp_path / "killed"
    process = rnnkit(installed, *train, "--out", killed)
    started = time.monotonic()
    while not (killed / "checkpoint.pt").exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() - started < 120, "no checkpoint was written"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    resumed = done(rnnkit(installed, *train, "--out", killed, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    a, b = load_file(str(tmp_path / "whole" / "model.safetensors")), load_file(str(killed / "model.safetensors"))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)

    evaluated = done(rnnkit(installed, "evaluate", killed, words))
    assert evaluated.returncode == 0 and "mean squared error" in evaluated.stdout, evaluated.stderr
    predicted = done(rnnkit(installed, "predict", killed, "How many words are here ?"))
    assert predicted.returncode == 0 and "How many words are here ?" in predicted.stdout, predicted.stderr
    helped = done(rnnkit(installed, "train", "--task", "regress", "--help"))
    assert "--target-column" in helped.stdout and "words for --task" in " ".join(helped.stdout.split())


def test_the_new_task_is_refused_where_it_does_not_apply(installed, words, tmp_path):
    one_line_error(done(rnnkit(installed, "train", words, "--task", "lm", "--target-column", "x")), "--target-column")
    one_line_error(done(rnnkit(installed, "train", words, "--task", "regress", "--window", "5")), "--window")
    model = tmp_path / "m"
    trained = done(rnnkit(installed, "train", words, "--task", "regress", "--epochs", "1", "-q", "--out", model))
    assert trained.returncode == 0, trained.stderr
    one_line_error(done(rnnkit(installed, "generate", model)), "a text regressor", "rnnkit predict")
    exported = done(rnnkit(installed, "export", model, tmp_path / "m.onnx"))
    one_line_error(exported, "rnnkit export is not for text regressors")
