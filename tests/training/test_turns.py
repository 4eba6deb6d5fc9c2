"""Taking turns on the cores (rnnkit.training.turns): real processes holding the turn never compute at the same
time, two of them alternate, a killed holder frees the turn at once, a stopped one is waited for only ``patience``
seconds, and two ``rnnkit train`` runs at once give the weights of a run alone."""

import json
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

from rnnkit.tasks import build
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.classify.objective import fit
from rnnkit.training import TrainConfig, trainer
from rnnkit.training.turns import Turns, usable_cores

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="turns need flock")

DATA = Path(__file__).parents[1] / "data"
# A process that takes turns: each "step" holds the turn for a few milliseconds and writes when it began and ended.
STEPPER = """
import json, sys, time
from pathlib import Path
from rnnkit.training.turns import Turns, usable_cores
folder, steps, log = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
records = []
with Turns(folder=folder, turn=0.02) as turns:
    for _ in range(steps):
        assert turns.held
        begin = time.monotonic()
        time.sleep(0.004)
        records.append([begin, time.monotonic()])
        turns.step_done()
log.write_text(json.dumps(records))
"""
HOLDER = """
import sys, time
from pathlib import Path
from rnnkit.training.turns import Turns, usable_cores
with Turns(folder=Path(sys.argv[1])) as turns:
    print("held" if turns.held else "not held", flush=True)
    time.sleep(600)
"""


def start(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE, text=True)


def test_two_processes_never_step_at_once_and_alternate(tmp_path):
    logs = [tmp_path / "a.json", tmp_path / "b.json"]
    processes = [start(STEPPER, tmp_path / "locks", 60, log) for log in logs]
    for process in processes:
        assert process.wait(timeout=120) == 0
    steps = sorted((begin, end, who) for who, log in enumerate(logs) for begin, end in json.loads(log.read_text()))
    assert len(steps) == 120
    for (_, end, who), (begin, _, other) in zip(steps, steps[1:], strict=False):
        assert who == other or end <= begin  # another process's step starts only after this one's ended
    # Both made progress side by side: each passed the turn to the other many times (5 steps a turn, 12 turns each
    # when they alternate; started a few tenths of a second apart, the first may run alone for a while).
    changes = sum(a[2] != b[2] for a, b in zip(steps, steps[1:], strict=False))
    assert changes >= 6


def test_a_killed_holder_frees_the_turn_at_once(tmp_path):
    holder = start(HOLDER, tmp_path)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait(timeout=30)
    with Turns(folder=tmp_path, patience=30) as turns:
        assert turns.held


def test_a_stopped_holder_is_waited_for_only_patience_seconds(tmp_path):
    holder = start(HOLDER, tmp_path)
    try:
        assert holder.stdout.readline().strip() == "held"
        os.kill(holder.pid, signal.SIGSTOP)  # Ctrl-Z: the turn stays held
        began = time.monotonic()
        with Turns(folder=tmp_path, patience=0.5) as turns:
            waited = time.monotonic() - began
            assert not turns.held and 0.5 <= waited < 5  # went on without it
            began = time.monotonic()
            turns.step_done()  # without the turn, a step only looks whether it is free
            assert not turns.held and time.monotonic() - began < 0.2
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(timeout=30)
            turns.step_done()
            assert turns.held  # free again: taken at the next step
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_inactive_turns_do_nothing(tmp_path):
    with Turns(active=False, folder=tmp_path) as turns:
        turns.step_done()
        assert not turns.held and not turns.active
    assert not list(tmp_path.iterdir())


def test_two_trainings_at_once_give_the_weights_of_one_alone(tmp_path):
    """A thread a core (so that the runs take turns), two runs started together, against one run alone."""
    if usable_cores() < 2:
        pytest.skip("one core: trainings take no turns")
    args = [str(DATA / "trec_train.csv"), "--ensemble", "1", "--adversarial", "0", "--hidden", "16"]
    args += ["--embedding-dim", "16", "--batch-size", "16", "--epochs", "2", "--quiet"]
    # A thread a core, and the lock files in a folder of the test's own.
    env = dict(os.environ, OMP_NUM_THREADS=str(usable_cores()), TMPDIR=str(tmp_path))

    def train(out: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "rnnkit.cli", "train", *args, "--out", str(tmp_path / out)]
        return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)

    for batch in (["alone"], ["first", "second"]):
        processes = [train(out) for out in batch]
        for process in processes:
            _, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
    assert (tmp_path / f"rnnkit-{os.getuid()}" / "cores.lock").exists()  # they did take turns
    alone = load_file(tmp_path / "alone" / "model.safetensors")
    for out in ("first", "second"):
        other = load_file(tmp_path / out / "model.safetensors")
        assert all(np.array_equal(alone[k], other[k]) for k in alone)


@pytest.mark.parametrize(
    "threads, share_cores, takes_turns",
    [(2, True, True), (1, True, False), (2, False, False)],  # fewer threads than cores, or --no-share-cores: none
)
def test_a_training_on_every_core_takes_turns(small_task, monkeypatch, threads, share_cores, takes_turns):
    train, valid, labels, vocab_size = small_task
    asked = []
    monkeypatch.setattr(trainer, "usable_cores", lambda: 2)
    monkeypatch.setattr(trainer, "Turns", lambda active: asked.append(active) or Turns(active=False))
    model = build(ClassifierConfig(vocab_size=vocab_size, num_classes=len(labels), hidden_size=8, embedding_dim=8))
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        fit(model, train, valid, labels, TrainConfig(epochs=1, share_cores=share_cores), progress=False)
    finally:
        torch.set_num_threads(previous)
    assert asked == [takes_turns]
