"""Training in several processes (torchrun, DistributedDataParallel, gloo on this CPU): two processes with batches
of 16 end with the weights of one process with batches of 32 (dropout off); every process takes the same number of
steps whatever the data's size (else DDP hangs); every task trains; options that cannot work are refused."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from checks import one_line_error
from safetensors.numpy import load_file

import rnnkit
from rnnkit.data import BucketBatchSampler

DATA = Path(__file__).parents[1] / "data"
EXACT = ["--ensemble", "1", "--adversarial", "0", "--dropout", "0", "--word-dropout", "0", "--hidden", "16"]
EXACT += ["--embedding-dim", "16", "--epochs", "2", "--quiet"]
# The default preset's training (adversarial moves of the words embedded once, sub-words) with nothing random.
EXACT_DEFAULT = ["--dropout", "0", "--hidden", "16", "--embedding-dim", "16", "--epochs", "2", "--quiet"]


def rnnkit_train(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "rnnkit", "train", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.parametrize("size", [900, 901, 929, 17, 3203])
def test_each_process_takes_its_part_of_the_batches_one_process_would_take(size):
    lengths = torch.randint(1, 60, (size,), generator=torch.Generator().manual_seed(size))
    whole = BucketBatchSampler(lengths, 32, seed=4)
    whole.set_epoch(3)
    parts = []
    for rank in range(2):
        sampler = BucketBatchSampler(lengths, 16, seed=4, rank=rank, world=2)
        sampler.set_epoch(3)
        parts.append(list(sampler))
        assert len(sampler) == len(parts[-1])
    assert len(parts[0]) == len(parts[1])  # the same number of steps in every process
    kept = [batch for batch in whole if len(batch) >= 2]  # a last batch of one text cannot be shared: left out
    assert [np.concatenate(pair).tolist() for pair in zip(*parts, strict=True)] == [b.tolist() for b in kept]


@pytest.mark.parametrize("exact", [EXACT, EXACT_DEFAULT], ids=["plain", "adversarial-subwords"])
def test_two_processes_with_batches_of_16_equal_one_with_batches_of_32(exact, tmp_path):
    one = rnnkit_train(str(DATA / "trec_train.csv"), *exact, "--batch-size", "32", "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    two = rnnkit_train(
        str(DATA / "trec_train.csv"), *exact, "--batch-size", "16", "--nproc", "2", "--out", str(tmp_path / "two")
    )
    assert two.returncode == 0, two.stderr
    a, b = (
        load_file(str(tmp_path / "one" / "model.safetensors")),
        load_file(str(tmp_path / "two" / "model.safetensors")),
    )
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], atol=1e-5, rtol=1e-4, err_msg=name)  # sums in another order
    assert (
        not (tmp_path / "two" / "checkpoint.pt").exists() and (tmp_path / "two" / "test_report.json").exists() is False
    )


def test_a_language_model_and_a_tagger_train_in_two_processes_from_python(tmp_path):
    lm = rnnkit.train(
        DATA / "shakespeare_sample.txt",
        task="lm",
        hidden=8,
        embedding_dim=8,
        layers=1,
        window=32,
        batch_size=3,
        epochs=1,
        nproc=2,
        out=tmp_path / "lm",
        quiet=True,
    )  # 3 streams per process over text that does not divide evenly
    assert lm.task == "lm" and (tmp_path / "lm" / "model.safetensors").exists() and lm.generate("A", length=5)
    tagger = rnnkit.train(
        DATA / "ewt_train_sample.conllu",
        hidden=8,
        embedding_dim=8,
        char_hidden=4,
        layers=1,
        batch_size=7,
        epochs=1,
        nproc=2,
        out=tmp_path / "tag",
        quiet=True,
    )
    assert tagger.task == "tag" and tagger.predict("I saw her.")


DEFAULTS = {
    "classify-fast": [str(DATA / "trec_train.csv")],
    "classify-accurate": [str(DATA / "trec_train.csv"), "--preset", "accurate", "--ensemble", "1"],
    "tag": [str(DATA / "ewt_train_sample.conllu")],
    "lm": [str(DATA / "shakespeare_sample.txt"), "--task", "lm"],
    "translate": [str(DATA / "tatoeba_eng_fra_train_sample.tsv"), "--task", "translate"],
}


@pytest.mark.slow
@pytest.mark.parametrize("task", list(DEFAULTS))
def test_every_task_and_preset_trains_in_two_processes_with_its_defaults(task, tmp_path):
    result = rnnkit_train(*DEFAULTS[task], "--epochs", "1", "--nproc", "2", "--quiet", "--out", str(tmp_path / "m"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert rnnkit.load(tmp_path / "m", engine="torch").task == task.split("-")[0]


def test_an_unexpected_crash_in_a_worker_is_one_line_naming_a_log_of_the_traceback(tmp_path):
    """The workers run rnnkit's own entry point, so the crash is planted through a sitecustomize they import."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(
        "import rnnkit.training.trainer as trainer\n"
        "def crash(*args, **kwargs):\n"
        "    raise RuntimeError('a bug nobody foresaw\\nwith a second line')\n"
        "trainer.train_step = crash\n"
    )
    path = os.pathsep.join(p for p in (str(tmp_path / "site"), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=path)
    command = [sys.executable, "-m", "rnnkit", "train", str(DATA / "trec_train.csv"), *EXACT, "--nproc", "2"]
    command += ["--out", str(tmp_path / "x")]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    one_line_error(result, "training in 2 processes failed", "RuntimeError: a bug nobody foresaw")
    log = Path(result.stderr.split("traceback is in ")[1].strip().rstrip("."))
    assert log.exists() and "Traceback" in log.read_text() and "a bug nobody foresaw" in log.read_text()


def test_options_that_cannot_work_in_several_processes_are_refused_in_one_line(tmp_path):
    result = rnnkit_train(str(DATA / "trec_train.csv"), "--nproc", "2", "--jobs", "2", "--out", str(tmp_path / "x"))
    one_line_error(result, "--jobs")
    assert not (tmp_path / "x").exists()


def test_bad_input_in_several_processes_is_one_line_not_one_per_process(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("text,label\n")
    result = rnnkit_train(str(empty), "--nproc", "2", "--out", str(tmp_path / "x"))
    one_line_error(result, "no examples")  # not once per process, and no torchrun failure report
    assert "FAILED" not in result.stderr and not (tmp_path / "x").exists()


def processes_of(run_dir: Path) -> list[int]:
    """The processes whose environment names ``run_dir`` (torchrun's workers carry it in RNNKIT_TRAIN)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if str(run_dir).encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc to find leftover processes")
def test_sigterm_to_the_launcher_stops_every_process_after_a_checkpoint_and_the_run_resumes(tmp_path):
    import signal
    import time

    args = [str(DATA / "trec_train.csv"), *EXACT, "--batch-size", "16", "--nproc", "2", "--checkpoint-every", "3"]
    whole = rnnkit_train(*args, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    run_dir = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "rnnkit", "train", *args, "--out", str(run_dir)]
    launcher = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    started = time.monotonic()
    while not (run_dir / "checkpoint.pt").exists():
        assert launcher.poll() is None, launcher.stderr.read()
        assert time.monotonic() - started < 120, "no checkpoint was written"
        time.sleep(0.01)
    launcher.send_signal(signal.SIGTERM)
    _, err = launcher.communicate(timeout=120)
    assert launcher.returncode == 143, err
    lines = err.strip().splitlines()
    assert "SIGTERM" in lines[-1] and "--resume" in lines[-1], err
    assert "Traceback" not in err and "FAILED" not in err and "death signal" not in err
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["in_epoch"] is not None
    assert processes_of(run_dir) == []  # torchrun and both workers are gone
    resumed = rnnkit_train(*args, "--out", str(run_dir), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    a, b = load_file(str(tmp_path / "whole" / "model.safetensors")), load_file(str(run_dir / "model.safetensors"))
    for name in a:
        np.testing.assert_allclose(a[name], b[name], atol=1e-6, rtol=0, err_msg=name)
