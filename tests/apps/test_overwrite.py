"""Nothing lost by --overwrite (issue 26): a run that replaces a finished model trains beside it and takes its place
only when complete, so a run killed or interrupted at any point (before its first checkpoint, in the middle of an
epoch, while writing the new model) leaves the old model whole and loadable; the user's own files survive the
swap; and a directory that holds files a run would write, but no rnnkit run, is refused before any work.

Through the real command line, as a user meets it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from checks import one_line_error

import rnnkit
from rnnkit.rundir import final_dir, staging_dir

DATA = Path(__file__).parents[1] / "data"
SMALL = ["--hidden", "8", "--embedding-dim", "8", "--char-hidden", "4", "--layers", "1", "--quiet"]
# Long enough to be interrupted: about a second an epoch on a busy machine.
SLOW = ["--hidden", "64", "--embedding-dim", "32", "--char-hidden", "16", "--epochs", "30", "--quiet"]
KILL_WHILE_WRITING_THE_MODEL = """
import os, signal, sys
import rnnkit.modeldir as modeldir
def dying_write(path, data):
    if str(path).endswith("model.safetensors"):
        path.with_name(".model.safetensors.killed.tmp").write_bytes(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
modeldir.atomic_write_bytes = dying_write
sys.argv = ["rnnkit", *sys.argv[1:]]
from rnnkit.cli import main
main()
"""


def rnnkit_cli(*args, code: str | None = None) -> subprocess.Popen:
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "rnnkit"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    pipes = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.Popen([*command, *map(str, args)], env=env, **pipes)


def run(*args) -> subprocess.CompletedProcess:
    process = rnnkit_cli(*args)
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def keepme(tmp_path):
    """A finished tagger in ``keepme/``, with a file of the user's own beside it."""
    out = tmp_path / "keepme"
    result = run("train", DATA / "ewt_train_sample.conllu", "--epochs", "1", "--out", out, *SMALL)
    assert result.returncode == 0, result.stderr
    (out / "notes.txt").write_text("the user's own notes")
    return out


def wait_for(path: Path, process: subprocess.Popen, limit: float = 240) -> None:
    started = time.monotonic()
    while not path.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() - started < limit, f"{path} never appeared"
        time.sleep(0.005)


def assert_old_model_whole(keepme: Path, before: dict[str, bytes]) -> None:
    assert snapshot(keepme) == before
    assert rnnkit.load(keepme, engine="torch").predict("I saw her.")


@pytest.mark.parametrize("when", ["before the first checkpoint", "mid-epoch", "while writing the model"])
def test_an_overwrite_killed_at_any_point_leaves_the_old_model_whole(when, keepme):
    before = snapshot(keepme)
    staging = staging_dir(keepme)
    if when == "while writing the model":
        process = rnnkit_cli(
            "train", DATA / "ewt_train_sample.conllu", "--epochs", "1", "--out", keepme, "--overwrite", *SMALL,
            code=KILL_WHILE_WRITING_THE_MODEL,
        )  # fmt: skip
        process.communicate(timeout=300)
        assert process.returncode == -signal.SIGKILL
        assert (staging / ".model.safetensors.killed.tmp").exists()  # it died there, in the new run's directory
    else:
        args = ["--checkpoint-every", "1"] if when == "mid-epoch" else []
        process = rnnkit_cli("train", DATA / "ewt_train_sample.conllu", "--out", keepme, "--overwrite", *SLOW, *args)
        wait_for(staging / "checkpoint.pt" if when == "mid-epoch" else staging, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    assert_old_model_whole(keepme, before)


def test_an_interrupted_overwrite_keeps_the_old_model_then_resumes_and_replaces_it(keepme):
    before = snapshot(keepme)
    args = ["train", DATA / "ewt_train_sample.conllu", "--out", keepme, "--overwrite", *SLOW, "--epochs", "3"]
    process = rnnkit_cli(*args, "--checkpoint-every", "1")
    wait_for(staging_dir(keepme) / "checkpoint.pt", process)
    process.send_signal(signal.SIGINT)  # Ctrl-C: stops at the end of the step, after a checkpoint
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "--resume" in err.strip().splitlines()[-1]
    assert_old_model_whole(keepme, before)
    refused = run("train", DATA / "ewt_train_sample.conllu", "--out", keepme, *SLOW, "--epochs", "3")
    one_line_error(refused, "interrupted run that was to replace it", "--resume")
    resumed = run(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert not staging_dir(keepme).exists()
    after = snapshot(keepme)
    assert after["notes.txt"] == before["notes.txt"]  # the user's own file went along
    assert after["model.safetensors"] != before["model.safetensors"]
    assert rnnkit.load(keepme, engine="torch").model_config.hidden_size == 64


def test_a_finished_overwrite_replaces_everything_of_the_old_run_and_keeps_the_users_files(keepme):
    (keepme / "data").mkdir()
    (keepme / "data" / "more.txt").write_text("a folder of the user's own")
    result = run("train", DATA / "ewt_train_sample.conllu", "--out", keepme, "--overwrite", *SMALL, "--epochs", "2")
    assert result.returncode == 0, result.stderr
    assert (keepme / "notes.txt").read_text() == "the user's own notes"
    assert (keepme / "data" / "more.txt").read_text() == "a folder of the user's own"
    assert len(rnnkit.load(keepme, engine="torch").training["members"][0]["history"]) == 2
    assert not staging_dir(keepme).exists() and final_dir(staging_dir(keepme)) == keepme
    assert not list(keepme.parent.glob(".keepme.*"))


def test_files_a_run_would_write_but_no_run_made_are_refused_before_any_work(tmp_path):
    project = tmp_path / "myproject"
    project.mkdir()
    for name, text in (("curves.png", "my figure"), ("train_log.jsonl", "my log"), ("notes.txt", "my notes")):
        (project / name).write_text(text)
    before = snapshot(project)
    for extra in ([], ["--overwrite"]):
        result = run("train", DATA / "trec_train.csv", "--out", project, "--epochs", "1", "--quiet", *extra)
        one_line_error(result, str(project), "curves.png", "train_log.jsonl", "choose another --out")
        assert snapshot(project) == before
    assert not list(tmp_path.glob(".myproject*"))


def test_pipeline_save_with_overwrite_replaces_a_finished_model_through_a_swap(keepme, tmp_path):
    pipeline = rnnkit.load(keepme, engine="torch")
    pipeline.save(keepme, overwrite=True)
    assert (keepme / "notes.txt").exists() and not (keepme / "train_log.jsonl").exists()
    assert not staging_dir(keepme).exists()
    assert rnnkit.load(keepme, engine="torch").predict("I saw her.")
