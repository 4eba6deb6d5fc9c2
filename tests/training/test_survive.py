"""Runs that survive: a real training process killed with SIGKILL in the middle of an epoch, or while it writes a
checkpoint, resumes with ``--resume`` to the very weights of a run never interrupted (same seed, CPU, one thread);
SIGINT and SIGTERM stop at a step's end after writing a checkpoint and exit 130 / 143; a loss that is not finite
stops training before any weight moves; a directory that cannot hold the checkpoints is refused before training."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from rnnkit.errors import RnnkitError
from rnnkit.rundir import prepare_run_dir
from rnnkit.training.trainer import CHECKPOINT, NonFiniteLoss, TrainConfig, train_loop

DATA = Path(__file__).parents[1] / "data"
CLASSIFY = [str(DATA / "trec_train.csv"), "--ensemble", "1", "--adversarial", "0", "--hidden", "16"]
CLASSIFY += ["--embedding-dim", "16", "--batch-size", "16", "--epochs", "2", "--checkpoint-every", "4"]
LM = [str(DATA / "shakespeare_sample.txt"), "--task", "lm", "--hidden", "16", "--embedding-dim", "16"]
LM += ["--batch-size", "4", "--window", "32", "--epochs", "2", "--layers", "1", "--checkpoint-every", "20"]
KILL_WHILE_WRITING = """
import os, signal, sys
import rnnkit.training.trainer as trainer
written = 0
def dying_write(path, data):
    global written
    written += 1
    if written == 2:  # the second checkpoint: half of it on disk, then killed
        tmp = path.parent / f".{path.name}.killed.tmp"
        tmp.write_bytes(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    trainer.__dict__["_atomic"](path, data)
trainer.__dict__["_atomic"] = trainer.atomic_write_bytes
trainer.atomic_write_bytes = dying_write
sys.argv = ["rnnkit", *sys.argv[1:]]
from rnnkit.cli import main
main()
"""


def rnnkit(*args: str, code: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "rnnkit.cli"]
    return subprocess.Popen(
        [*command, "train", *args, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def wait_for_checkpoint(run_dir: Path, process: subprocess.Popen) -> None:
    started = time.monotonic()
    while not (run_dir / CHECKPOINT).exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() - started < 120, "no checkpoint was written"
        time.sleep(0.005)


def weights(run_dir: Path) -> dict[str, np.ndarray]:
    return load_file(str(run_dir / "model.safetensors"))


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        np.testing.assert_allclose(wa[name], wb[name], atol=1e-6, rtol=0, err_msg=name)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The runs never interrupted, by task."""
    root = tmp_path_factory.mktemp("whole")
    for name, args in (("classify", CLASSIFY), ("lm", LM)):
        result = finish(rnnkit(*args, "--out", str(root / name)))
        assert result.returncode == 0, result.stderr
    return root


@pytest.mark.parametrize("task", ["classify", "lm"])
def test_a_run_killed_in_the_middle_of_an_epoch_resumes_to_the_same_weights(task, uninterrupted, tmp_path):
    args = CLASSIFY if task == "classify" else LM
    run_dir = tmp_path / "run"
    process = rnnkit(*args, "--out", str(run_dir))
    wait_for_checkpoint(run_dir, process)
    process.send_signal(signal.SIGKILL)  # no handler, no clean-up: the process is gone where it stood
    process.wait(timeout=60)
    state = torch.load(run_dir / CHECKPOINT, weights_only=True)
    assert state["in_epoch"] is not None and state["in_epoch"]["epoch"] == 1  # it died within the first epoch
    assert not (run_dir / "model.safetensors").exists()
    result = finish(rnnkit(*args, "--out", str(run_dir), "--resume"))
    assert result.returncode == 0, result.stderr
    assert_same_weights(run_dir, uninterrupted / task)


def test_a_run_killed_while_writing_a_checkpoint_keeps_the_previous_one(uninterrupted, tmp_path):
    run_dir = tmp_path / "run"
    process = rnnkit(*CLASSIFY, "--out", str(run_dir), code=KILL_WHILE_WRITING)
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL
    assert list(run_dir.glob(".checkpoint.pt.*.tmp"))  # the half-written file it died on
    state = torch.load(run_dir / CHECKPOINT, weights_only=True)  # the previous checkpoint, whole
    assert state["in_epoch"]["sums"]["steps"] == 4
    result = finish(rnnkit(*CLASSIFY, "--out", str(run_dir), "--resume"))
    assert result.returncode == 0, result.stderr
    assert not list(run_dir.glob(".checkpoint.pt.*.tmp"))
    assert_same_weights(run_dir, uninterrupted / "classify")


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_sigint_stop_after_a_checkpoint_and_say_how_to_resume(stop, code, uninterrupted, tmp_path):
    run_dir = tmp_path / "run"
    process = rnnkit(*CLASSIFY, "--out", str(run_dir))
    wait_for_checkpoint(run_dir, process)  # training is under way
    process.send_signal(stop)
    result = finish(process)
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert "--resume" in lines[-1] and signal.Signals(stop).name in lines[-1] and "Traceback" not in result.stderr
    assert torch.load(run_dir / CHECKPOINT, weights_only=True)["in_epoch"] is not None  # written where it stopped
    resumed = finish(rnnkit(*CLASSIFY, "--out", str(run_dir), "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert_same_weights(run_dir, uninterrupted / "classify")


# ------------------------------------------------------------------------------------------------- in process
class ExplodingTask:
    """A classification task whose loss becomes NaN at one step."""

    def __init__(self, task, at: int) -> None:
        self.task, self.at, self.calls = task, at, 0

    def __getattr__(self, name):
        return getattr(self.task, name)

    def __len__(self) -> int:
        return len(self.task)

    def loss(self, model, batch, noise=None):
        self.calls += 1
        result = self.task.loss(model, batch, noise)
        if self.calls == self.at:
            result.loss = result.loss * float("nan")
        return result


def test_a_loss_that_is_not_finite_stops_before_any_weight_moves(small_task, tmp_path):
    from rnnkit.tasks import build as build_model
    from rnnkit.tasks.classify.config import ClassifierConfig
    from rnnkit.tasks.classify.objective import ClassifyTask

    train, valid, labels, vocab_size = small_task
    model = build_model(ClassifierConfig(vocab_size=vocab_size, num_classes=len(labels), hidden_size=8))
    config = TrainConfig(epochs=3, batch_size=16, checkpoint_every=2)
    task = ClassifyTask(train, valid, labels, config.batch_size)
    exploding = ExplodingTask(task, at=len(task) + 3)  # the third step of the second epoch
    weights_before: dict[str, torch.Tensor] = {}

    original = exploding.loss

    def loss(model_, batch, noise=None):
        if exploding.calls + 1 == exploding.at:
            weights_before.update({k: v.clone() for k, v in model_.state_dict().items()})
        return original(model_, batch, noise)

    exploding.loss = loss
    with pytest.raises(NonFiniteLoss, match=r"became nan at epoch 2, step 3; .*lower --lr"):
        train_loop(model, exploding, config, run_dir=tmp_path, progress=False)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, weights_before[name], rtol=0, atol=0)  # the bad step moved nothing
    state = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    assert state["in_epoch"]["epoch"] == 2 and state["in_epoch"]["sums"]["steps"] == 2  # the last good one


def test_a_directory_without_room_or_that_cannot_be_written_is_refused_before_training(tmp_path, monkeypatch):
    model = torch.nn.Linear(1000, 1000)  # 4 MB of weights
    prepare_run_dir(tmp_path / "fine", model, averaged=True)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError):
        prepare_run_dir(blocker / "run", model, averaged=False)
    monkeypatch.setattr("shutil.disk_usage", lambda path: type("Usage", (), {"free": 10_000_000})())
    with pytest.raises(RnnkitError, match=r"10 MB free, and this model's checkpoints need about 44 MB"):
        prepare_run_dir(tmp_path / "small", model, averaged=True)
