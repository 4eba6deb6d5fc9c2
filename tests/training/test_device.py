"""``--device auto|cpu|cuda``: nothing needs a GPU. On this machine auto is the CPU and cuda is refused in one line;
where torch sees a CUDA GPU, the ``cuda``-marked tests train every task there (benchmarks/gpu_check.sh runs them)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from checks import one_line_error

import rnnkit
from rnnkit.errors import RnnkitError
from rnnkit.training.device import choose_device

DATA = Path(__file__).parents[1] / "data"
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here (benchmarks/gpu_check.sh runs these)")
TINY = dict(hidden=16, embedding_dim=16, epochs=2, quiet=True)


def test_auto_is_a_gpu_when_there_is_one_and_the_cpu_otherwise(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert choose_device("auto") == "cpu" and choose_device("cpu") == "cpu"
    with pytest.raises(RnnkitError, match="--device cuda: torch sees no CUDA GPU here"):
        choose_device("cuda")
    with pytest.raises(RnnkitError, match="--device must be one of auto, cpu, cuda"):
        choose_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert choose_device("auto") == "cuda" and choose_device("cpu") == "cpu"
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert choose_device("cuda") == "cuda:1"  # under torchrun: this process's GPU


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_asking_for_a_gpu_where_there_is_none_is_one_line(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "rnnkit", "train", str(DATA / "trec_train.csv"), "--device", "cuda"]
    result = subprocess.run([*command, "--out", str(tmp_path / "x")], capture_output=True, text=True, env=env)
    one_line_error(result, "--device cuda")


def test_training_on_the_cpu_leaves_the_model_there(tmp_path):
    pipeline = rnnkit.train(
        DATA / "trec_train.csv", device="cpu", ensemble=1, adversarial=0, out=tmp_path / "m", **TINY
    )
    assert {p.device.type for p in pipeline.model.parameters()} == {"cpu"}


@pytest.mark.cuda
@CUDA
@pytest.mark.parametrize(
    ("data", "options"),
    [
        ("trec_train.csv", dict(ensemble=1, adversarial=0.5)),
        ("shakespeare_sample.txt", dict(task="lm", window=32, batch_size=8)),
        ("ewt_train_sample.conllu", dict(char_hidden=8, crf=True)),
    ],
)
def test_every_task_trains_on_a_gpu_as_on_the_cpu(data, options, tmp_path):
    on = {d: rnnkit.train(DATA / data, device=d, out=tmp_path / d, **TINY, **options) for d in ("cpu", "cuda")}
    assert {p.device.type for p in on["cuda"].model.parameters()} == {"cpu"}  # back on the CPU, ready to use
    for name, value in on["cpu"].model.state_dict().items():
        np.testing.assert_allclose(on["cuda"].model.state_dict()[name].numpy(), value.numpy(), atol=5e-3, err_msg=name)


@pytest.mark.cuda
@CUDA
def test_a_gpu_run_resumes_from_its_checkpoint(tmp_path):
    options = dict(device="cuda", ensemble=1, adversarial=0, checkpoint_every=5, **TINY)
    whole = rnnkit.train(DATA / "trec_train.csv", out=tmp_path / "whole", **options)
    command = [sys.executable, "-m", "rnnkit", "train", str(DATA / "trec_train.csv"), "--device", "cuda"]
    command += ["--ensemble", "1", "--adversarial", "0", "--checkpoint-every", "5", "--hidden", "16"]
    command += ["--embedding-dim", "16", "--epochs", "2", "--quiet", "--out", str(tmp_path / "cut")]
    process = subprocess.Popen(command)
    while not (tmp_path / "cut" / "checkpoint.pt").exists():
        assert process.poll() is None
    process.kill()
    process.wait()
    resumed = rnnkit.train(DATA / "trec_train.csv", out=tmp_path / "cut", resume=True, **options)
    for name, value in whole.model.state_dict().items():
        np.testing.assert_allclose(resumed.model.state_dict()[name].numpy(), value.numpy(), atol=1e-5, err_msg=name)


def test_processes_training_on_gpus_join_an_nccl_group_and_on_cpus_a_gloo_one(monkeypatch):
    from torch import distributed

    from rnnkit.training.distributed import backend_for

    monkeypatch.setattr(distributed, "is_nccl_available", lambda: True)
    assert backend_for("cuda:1") == "nccl" and backend_for("cuda") == "nccl" and backend_for("cpu") == "gloo"
    monkeypatch.setattr(distributed, "is_nccl_available", lambda: False)  # torch built without NCCL
    assert backend_for("cuda:0") == "gloo"


@pytest.mark.cuda
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="two processes on NCCL need two CUDA GPUs")
def test_two_processes_train_on_two_gpus_over_nccl(tmp_path):
    pipeline = rnnkit.train(
        DATA / "trec_train.csv", device="cuda", nproc=2, ensemble=1, adversarial=0, out=tmp_path / "m", **TINY
    )
    assert pipeline.predict(["What is the capital of France ?"])
