"""The onnxruntime path: the same probabilities as torch for every network, prediction without torch, export."""

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

import rnnkit
from rnnkit.errors import ModelFileError, RnnkitError
from rnnkit.export import export_onnx
from rnnkit.models import ClassifierConfig, build_model
from rnnkit.pipeline import load
from rnnkit.runtime import OnnxSession, load_onnx

DATA = Path(__file__).parents[1] / "data"
SMALL = dict(hidden=16, embedding_dim=16, epochs=2, lr=2e-2, batch_size=32, ensemble=1, progress=False)
NETWORKS = [
    dict(cell=cell, bidirectional=bidirectional, num_layers=layers, pooling=pooling)
    for cell, bidirectional, layers, pooling in itertools.product(
        ["lstm", "gru", "rnn"], [True, False], [1, 2], ["last", "mean", "max", "attention", "concat"]
    )
] + [dict(model="bag"), dict(model="bag", members=3), dict(members=3), dict(members=2, cell="gru", pooling="mean")]


def padded_batch(rng, vocab_size, batch, steps):
    lengths = rng.integers(1, steps + 1, batch)
    lengths[0], lengths[-1] = steps, 1
    ids = rng.integers(1, vocab_size, (batch, steps))
    ids[np.arange(steps)[None, :] >= lengths[:, None]] = 0
    return ids, lengths


@pytest.mark.parametrize("settings", NETWORKS, ids=lambda s: "-".join(str(v) for v in s.values()))
def test_onnxruntime_gives_torchs_probabilities(settings):
    config = ClassifierConfig(vocab_size=40, num_classes=3, hidden_size=8, embedding_dim=6, **settings)
    torch.manual_seed(0)
    network = build_model(config).eval()
    session = OnnxSession(config, {k: v.numpy() for k, v in network.state_dict().items()})
    rng = np.random.default_rng(1)
    batches = [padded_batch(rng, 40, 7, 11), padded_batch(rng, 40, 1, 4), (rng.integers(1, 40, (3, 5)), np.full(3, 5))]
    for ids, lengths in batches:
        with torch.inference_mode():
            expected = torch.softmax(network(torch.from_numpy(ids), torch.from_numpy(lengths)), 1).numpy()
        np.testing.assert_allclose(session(ids, lengths), expected, atol=1e-6)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "model"
    pipeline = rnnkit.train(DATA / "trec_train.csv", out=str(out), valid_split=0.0, **SMALL)
    texts = [line.split(",", 1)[1] for line in (DATA / "trec_test.csv").read_text().splitlines()[1:]]
    return pipeline, out, texts


def test_engines_agree_on_real_text(trained):
    pipeline, out, texts = trained
    assert pipeline.engine == "onnxruntime"  # the default when onnxruntime is installed
    fast = pipeline.predict_proba(texts)
    pipeline.engine = "torch"
    try:
        slow = pipeline.predict_proba(texts)
    finally:
        pipeline.engine = "auto"
    np.testing.assert_allclose(fast, slow, atol=1e-6)
    assert (fast.argmax(1) == slow.argmax(1)).all()
    np.testing.assert_allclose(load_onnx(out).predict_proba(texts), slow, atol=1e-6)
    one_by_one = np.concatenate([pipeline.predict_proba([t]) for t in texts[:20]])
    np.testing.assert_allclose(one_by_one, fast[:20], atol=1e-6)


def test_changed_weights_rebuild_the_session(trained, tmp_path):
    _, out, texts = trained
    pipeline = load(out)
    before = pipeline.predict_proba(texts[:5])
    with torch.no_grad():
        pipeline.model.output.bias += torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 5.0])
    after = pipeline.predict_proba(texts[:5])
    assert (after[:, 5] > before[:, 5]).all()
    pipeline.engine = "torch"
    np.testing.assert_allclose(after, pipeline.predict_proba(texts[:5]), atol=1e-6)


def test_engine_choice(trained, monkeypatch):
    pipeline, _, _ = trained
    with pytest.raises(RnnkitError, match="engine must be one of auto, torch, onnxruntime"):
        pipeline.engine = "tensorflow"
    monkeypatch.setattr("rnnkit.pipeline.onnxruntime_available", lambda: False)
    pipeline.engine = "auto"
    assert pipeline.engine == "torch"
    with pytest.raises(RnnkitError, match=r"pip install 'rnnkit\[onnx\]'"):
        pipeline.engine = "onnxruntime"
    pipeline.engine = "torch"
    assert len(pipeline.predict(["Who wrote Hamlet ?"])) == 1


def test_prediction_without_torch(trained):
    _, out, _ = trained
    code = (
        "import sys; from rnnkit.runtime import load_onnx; "
        f"p = load_onnx({str(out)!r}); print(p.predict(['Who wrote Hamlet ?'])[0]); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in trained[0].labels


def test_damaged_model_is_refused_without_torch_too(trained, tmp_path):
    _, out, _ = trained
    copy = tmp_path / "m"
    copy.mkdir()
    for name in ("config.json", "vocab.json", "model.safetensors"):
        (copy / name).write_bytes((out / name).read_bytes())
    data = (copy / "model.safetensors").read_bytes()
    (copy / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="damaged or truncated"):
        load_onnx(copy)


def test_export_is_self_contained_and_checked(trained, tmp_path):
    pipeline, out, texts = trained
    path = tmp_path / "model.onnx"
    difference = export_onnx(out, path)
    assert difference is not None and difference < 1e-5
    model = onnx.load(path)
    meta = {p.key: p.value for p in model.metadata_props}
    labels, vocab = json.loads(meta["labels"]), json.loads(meta["vocab"])
    assert labels == pipeline.labels and vocab == pipeline.vocab.tokens
    # Feed it from raw text using nothing but what the file says.
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    index = {token: i for i, token in enumerate(vocab)}
    tokens = pipeline.tokenizer(texts[0])
    ids = np.array([[index.get(t, 1) for t in tokens]], dtype=np.int64)
    probabilities = session.run(None, {"ids": ids, "lengths": np.array([len(tokens)])})[0]
    np.testing.assert_allclose(probabilities, pipeline.predict_proba([texts[0]]), atol=1e-6)


def test_export_that_fails_its_check_writes_nothing(trained, tmp_path, monkeypatch):
    _, out, _ = trained
    monkeypatch.setattr("rnnkit.export.largest_difference", lambda saved, data: 0.5)
    with pytest.raises(RnnkitError, match="differs from the torch network by 5.00e-01"):
        export_onnx(out, tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def cli(*args, code=None):
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "rnnkit.cli"]
    env = dict(os.environ, PYTHONWARNINGS="error::UserWarning")
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, env=env, timeout=120)


def test_cli_export_and_its_errors(trained, tmp_path):
    _, out, _ = trained
    result = cli("export", out, tmp_path / "m.onnx")
    assert result.returncode == 0, result.stderr
    assert "onnxruntime matches torch" in result.stdout and (tmp_path / "m.onnx").stat().st_size > 10_000
    result = cli("export", tmp_path / "nowhere", tmp_path / "x.onnx")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "no such model directory" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "x.onnx").exists()


def test_cli_predict_imports_no_torch_and_falls_back_without_onnxruntime(trained):
    pipeline, out, _ = trained
    run = "import sys; sys.argv = ['rnnkit', *sys.argv[1:]]; from rnnkit.cli import main; main(standalone_mode=False)"
    fast = cli(
        "predict", out, "Who wrote Hamlet ?", "--format", "json", code=f"{run}; assert 'torch' not in sys.modules"
    )
    assert fast.returncode == 0, fast.stderr
    hidden = cli(
        "predict",
        out,
        "Who wrote Hamlet ?",
        "--format",
        "json",
        code=f"import sys; sys.modules['onnxruntime'] = None; {run}",
    )
    assert hidden.returncode == 0, hidden.stderr
    a, b = json.loads(fast.stdout)["labels"][0], json.loads(hidden.stdout)["labels"][0]
    assert a["label"] == b["label"] and a["probability"] == pytest.approx(b["probability"], abs=1e-5)
