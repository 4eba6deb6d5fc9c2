"""The command line through its real entry point: exit codes, one-line errors, nothing half-written."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "data"
SMALL = ["--hidden", "16", "--embedding-dim", "16", "--epochs", "3", "--lr", "0.02", "--batch-size", "32", "-q"]


def rnnkit(*args, stdin=None, cwd=None, threads=None):
    env = dict(os.environ, PYTHONWARNINGS="error::UserWarning")
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    return subprocess.run(
        [sys.executable, "-m", "rnnkit.cli", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "model"
    result = rnnkit("train", DATA / "trec_train.csv", "--test", DATA / "trec_test.csv", "--out", out, *SMALL)
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout and "confusion matrix" in result.stdout
    assert f"model saved to {out}" in result.stdout
    return out


def test_help_is_fast_and_complete():
    result = rnnkit("--help")
    assert result.returncode == 0
    for command in ("train", "evaluate", "predict"):
        assert command in result.stdout
    train_help = rnnkit("train", "--help").stdout
    for option in ("--text-column", "--label-column", "--cell", "--bidirectional", "--pooling", "--resume", "--seed"):
        assert option in train_help


def test_predict_arguments_file_and_stdin(model_dir, tmp_path):
    one = rnnkit("predict", model_dir, "Who wrote Hamlet ?")
    assert one.returncode == 0 and len(one.stdout.strip().splitlines()) == 1
    label, probability = one.stdout.split()[:2]
    assert label in {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"} and 0 < float(probability) <= 1
    texts = tmp_path / "texts.txt"
    texts.write_text("How far is the moon ?\nWho is the president ?\n")
    from_file = rnnkit("predict", model_dir, "--file", texts, "--format", "tsv", "--top-k", "2")
    rows = [line.split("\t") for line in from_file.stdout.strip().splitlines()]
    assert len(rows) == 2 and all(len(row) == 4 for row in rows)
    piped = rnnkit("predict", model_dir, "--format", "json", "--batch-size", "1", stdin=texts.read_text())
    records = [json.loads(line) for line in piped.stdout.strip().splitlines()]
    assert [r["text"] for r in records] == ["How far is the moon ?", "Who is the president ?"]
    assert [r["labels"][0]["label"] for r in records] == [row[0] for row in rows]


def test_evaluate_writes_report(model_dir, tmp_path):
    report = tmp_path / "report.json"
    result = rnnkit("evaluate", model_dir, DATA / "trec_test.csv", "--report", report)
    assert result.returncode == 0, result.stderr
    assert "macro-F1" in result.stdout
    assert json.loads(report.read_text())["examples"] == 200


def test_bad_inputs_give_one_line_errors(model_dir, tmp_path):
    assert_one_line_error(rnnkit("train", tmp_path / "missing.csv", "-q"), "missing.csv", "no such file")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert_one_line_error(rnnkit("train", empty, "-q"), "empty.csv", "empty")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("stars,review\n1,bad\n5,good\n")
    assert_one_line_error(rnnkit("train", wrong, "--text-column", "body", "-q"), "columns found: stars, review")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("label,text\na,ok\nb,caf\xe9\n".encode("latin-1"))
    assert_one_line_error(rnnkit("train", latin, "-q"), "line 3", "UTF-8")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("label,text\na,b\na,b,c\n")
    assert_one_line_error(rnnkit("train", ragged, "-q"), "line 3", "expected 2 fields")
    one_class = tmp_path / "one.csv"
    one_class.write_text("label,text\na,x\na,y\n")
    assert_one_line_error(rnnkit("train", one_class, "-q", "--out", tmp_path / "never"), "one class only")
    assert not (tmp_path / "never").exists()  # nothing half-written
    blank = tmp_path / "blank.csv"
    blank.write_text("label,text\na,x\nb,\na,z\nb,w\n")
    assert_one_line_error(rnnkit("train", blank, "--strict", "-q"), "line 3", "empty text")
    unseen = tmp_path / "unseen.csv"
    unseen.write_text("label,text\nWEATHER,Will it rain ?\n")
    assert_one_line_error(rnnkit("evaluate", model_dir, unseen), "'WEATHER' never seen in training")
    assert_one_line_error(rnnkit("predict", tmp_path / "nomodel", "x"), "no such model directory")


def test_damaged_model_directory(model_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "vocab.json"):
        (broken / name).write_bytes((model_dir / name).read_bytes())
    assert_one_line_error(rnnkit("predict", broken, "x"), "missing model.safetensors")
    weights = (model_dir / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(weights[:100])
    assert_one_line_error(rnnkit("predict", broken, "x"), "damaged or truncated")
    config = json.loads((model_dir / "config.json").read_text())
    config["format_version"] = 99
    (broken / "config.json").write_text(json.dumps(config))
    assert_one_line_error(rnnkit("evaluate", broken, DATA / "trec_test.csv"), "upgrade rnnkit")


def test_unwritable_run_directory(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    result = rnnkit("train", DATA / "trec_train.csv", "--out", blocker / "run", *SMALL[:-1], "--epochs", "1", "-q")
    assert_one_line_error(result, "file.txt", "Not a directory")


def test_usage_errors_exit_2(model_dir):
    result = rnnkit("train", "--cell", "transformer")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    result = rnnkit("predict", model_dir, "x", "--top-k", "0")
    assert result.returncode == 2 and "Traceback" not in result.stderr


@pytest.mark.parametrize("members", ["1", "2"])
def test_interrupted_run_resumes(tmp_path, members):
    """An interrupted run keeps its finished epochs (and finished members); --resume finishes it to the
    uninterrupted model."""
    out = tmp_path / "run"
    args = ["train", DATA / "trec_train.csv", "--out", out, *SMALL, "--ensemble", members]
    whole = tmp_path / "whole"
    assert rnnkit("train", DATA / "trec_train.csv", "--out", whole, *SMALL, "--ensemble", members).returncode == 0
    last = "run" if members == "1" else "member-2"
    code = (
        "import sys, rnnkit.training.trainer as t\n"
        "real = t.save_checkpoint\n"
        "def save_then_stop(run_dir, state):\n"
        "    real(run_dir, state)\n"
        f"    if state['epoch'] == 2 and run_dir.name == {last!r}: raise KeyboardInterrupt\n"
        "t.save_checkpoint = save_then_stop\n"
        "from rnnkit.cli import main\n"
        "sys.exit(main())\n"
    )
    stopped = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)
    assert stopped.returncode == 130 and "--resume" in stopped.stderr and "Traceback" not in stopped.stderr
    assert list(out.glob("**/checkpoint.pt")) and not (out / "model.safetensors").exists()
    again = rnnkit(*args)  # starting over would lose the finished epochs: refused
    assert_one_line_error(again, "interrupted run", "--resume")
    resumed = rnnkit(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "model.safetensors").read_bytes() == (whole / "model.safetensors").read_bytes()


def test_members_trained_at_once_from_the_command_line(tmp_path):
    """--jobs 2 runs two one-thread processes: the saved model is the one-thread sequential run's, byte for byte."""
    args = ["train", DATA / "trec_train.csv", *SMALL, "--ensemble", "2"]
    together = rnnkit(*args, "--jobs", "2", "--out", tmp_path / "together", threads=2)
    assert together.returncode == 0, together.stderr
    in_turn = rnnkit(*args, "--out", tmp_path / "in_turn", threads=1)
    assert in_turn.returncode == 0, in_turn.stderr
    saved = [(tmp_path / d / "model.safetensors").read_bytes() for d in ("together", "in_turn")]
    assert saved[0] == saved[1]


def test_jsonl_texts_that_are_not_strings_are_skipped_not_learned(tmp_path):
    """``{"text": {"body": "t 5"}}`` once trained with its str() in the vocabulary ("body", "t", "5"); now the row
    is skipped and its line named, and --strict refuses it in one line."""
    rows = [line.split(",", 1) for line in (DATA / "trec_train.csv").read_text().splitlines()[1:]]
    records = [{"text": text, "label": label} for label, text in rows]
    records[3]["text"] = {"zebra": "quagga 5"}  # neither word is in the questions
    records[7]["text"] = ["zebra", "quagga"]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(record) + "\n" for record in records))
    out = tmp_path / "model"
    result = rnnkit("train", data, "--out", out, *[a for a in SMALL if a != "-q"], "--epochs", "1")
    assert result.returncode == 0, result.stderr
    assert "skipped 2 texts that are not strings (lines 4, 8)" in result.stdout + result.stderr
    tokens = json.loads((out / "vocab.json").read_text())["tokens"]
    assert len(tokens) > 500 and "zebra" not in tokens and "quagga" not in tokens
    assert_one_line_error(rnnkit("train", data, "--strict", "-q"), "line 4", "the text is an object, not a string")
