"""Every task's defaults are deterministic on a CPU: two runs with the same seed end with the very same weights, bit
for bit, and a run killed with SIGKILL in the middle of an epoch resumes with ``--resume`` to the weights of the run
never interrupted, bit for bit. Through the real command line, with the machine's threads (the order in which
threads add gradients is where a run could differ), with each task's defaults but the number of epochs (and the
language model's size).

The defaults' own sizes are kept: a gradient added in a varying order shows only where the sums are large enough
to be shared between threads (the classifier's n-gram table, the tagger's character encoder)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from rnnkit.training.trainer import CHECKPOINT

DATA = Path(__file__).parents[1] / "data"
RUNS = {
    # The default preset: one network, sub-words, adversarial training; 23 steps an epoch.
    "classify": [str(DATA / "trec_train.csv"), "--epochs", "1", "--checkpoint-every", "5"],
    # Characters, word dropout, a moving average of the weights; 4 steps an epoch.
    "tag": [str(DATA / "ewt_train_sample.conllu"), "--epochs", "2", "--checkpoint-every", "3"],
    # The state carried from window to window, dropout; 5 steps an epoch. Smaller than the default's 2 x 512,
    # which reads no spellings (the one source of a varying order found), to keep the suite short.
    "lm": [str(DATA / "shakespeare_sample.txt"), "--task", "lm", "--epochs", "1", "--checkpoint-every", "2"]
    + ["--hidden", "128"],
    # Sub-words, attention, beam search on validation, bfloat16 passes where the CPU has them; 9 steps an epoch.
    "translate": [str(DATA / "tatoeba_eng_fra_train_sample.tsv"), "--task", "translate", "--epochs", "1"]
    + ["--checkpoint-every", "4"],
}


def rnnkit_train(*args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}  # every thread the machine has
    command = [sys.executable, "-m", "rnnkit", "train", *args, "--quiet"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finished(process: subprocess.Popen) -> None:
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err


def assert_identical(a: Path, b: Path) -> None:
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys()
    for name in wa:
        np.testing.assert_array_equal(wa[name], wb[name], err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("task", list(RUNS))
def test_the_defaults_give_the_same_weights_twice_and_after_a_kill_and_resume(task, tmp_path):
    args = RUNS[task]
    finished(rnnkit_train(*args, "--out", str(tmp_path / "first")))
    finished(rnnkit_train(*args, "--out", str(tmp_path / "second")))
    assert_identical(tmp_path / "first", tmp_path / "second")

    killed = tmp_path / "killed"
    process = rnnkit_train(*args, "--out", str(killed))
    started = time.monotonic()
    while not (killed / CHECKPOINT).exists():  # the first checkpoint within the first epoch
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() - started < 300, "no checkpoint was written"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert not (killed / "model.safetensors").exists()
    finished(rnnkit_train(*args, "--out", str(killed), "--resume"))
    assert_identical(tmp_path / "first", killed)
