"""The onnxruntime path: the same probabilities as torch for every network, prediction without torch, export."""

import itertools
import json
import os
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

import rnnkit
from rnnkit.errors import ModelFileError, RnnkitError, RnnkitWarning
from rnnkit.export import export_onnx
from rnnkit.exported import OPERATORS, load_exported
from rnnkit.loading import load, load_onnx
from rnnkit.tasks import build as build_model
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.classify.graph import classifier_graph
from rnnkit.tasks.classify.predictor import OnnxPredictor, OnnxSession

DATA = Path(__file__).parents[1] / "data"
SMALL = dict(hidden=16, embedding_dim=16, epochs=2, lr=2e-2, batch_size=32, ensemble=1, quiet=True)
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
    weights = {k: v.numpy() for k, v in network.state_dict().items()}
    session = OnnxSession(config, weights)
    assert {node.op_type for node in classifier_graph(config, weights).graph.node} <= OPERATORS  # what files may hold
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
    monkeypatch.setattr("rnnkit.runtime.onnxruntime_available", lambda: False)
    pipeline.engine = "auto"
    assert pipeline.engine == "torch"
    with pytest.raises(RnnkitError, match=r"pip install 'rnnkit\[onnx\]'"):
        pipeline.engine = "onnxruntime"
    pipeline.engine = "torch"
    assert len(pipeline.predict(["Who wrote Hamlet ?"])) == 1


def test_prediction_without_torch(trained):
    _, out, _ = trained
    code = (
        "import sys; import rnnkit.metrics, rnnkit.exported, rnnkit.data; from rnnkit.loading import load_onnx; "
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
    # Feed it from raw text using nothing but what the file says (its sub-words hashed here as its metadata says).
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    index = {token: i for i, token in enumerate(vocab)}
    tokens = pipeline.tokenizer(texts[0] + " zqxjkian")  # and a word it never saw
    ids = np.array([[index.get(t, 1) for t in tokens]], dtype=np.int64)
    feed = {"ids": ids, "lengths": np.array([len(tokens)])}
    settings = json.loads(meta["subwords"])
    assert settings == {"buckets": 10_000, "min_n": 3, "max_n": 6} and "ngrams" in meta["inputs"]

    def ngrams(word):  # the substrings of 3 to 6 characters of <word>, CRC-32 of their UTF-8 bytes, mod buckets, + 1
        marked = f"<{word}>"
        pieces = [marked[i : i + n] for i in range(len(marked)) for n in range(3, 7) if i + n <= len(marked)]
        return [zlib.crc32(p.encode()) % settings["buckets"] + 1 for p in pieces or [marked]]

    rows = [[], *(ngrams(t) for t in tokens)]  # row 0: no n-gram; then one row per position
    table = np.zeros((len(rows), max(map(len, rows))), dtype=np.int64)
    for r, buckets in enumerate(rows):
        table[r, : len(buckets)] = buckets
    feed |= {"forms": np.arange(1, len(tokens) + 1)[None], "ngrams": table}
    probabilities = session.run(None, feed)[0]
    np.testing.assert_allclose(probabilities, pipeline.predict_proba([texts[0] + " zqxjkian"]), atol=1e-6)


def test_export_that_fails_its_check_writes_nothing(trained, tmp_path, monkeypatch):
    _, out, _ = trained
    monkeypatch.setattr("rnnkit.tasks.classify.export.difference", lambda saved, data: 0.5)
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


# ------------------------------------------------------------------------------------- an exported file as a model
@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    _, out, _ = trained
    path = tmp_path_factory.mktemp("exported") / "model.onnx"
    export_onnx(out, path)
    return path


def test_an_exported_file_predicts_and_evaluates_as_its_directory(trained, exported):
    pipeline, _, texts = trained
    model = rnnkit.load(exported)
    assert isinstance(model, OnnxPredictor) and model.labels == pipeline.labels
    np.testing.assert_allclose(model.predict_proba(texts), pipeline.predict_proba(texts), atol=1e-6)
    assert model.predict(texts[:5]) == pipeline.predict(texts[:5])
    report, expected = model.evaluate(DATA / "trec_test.csv"), pipeline.evaluate(DATA / "trec_test.csv")
    assert report == expected  # the same argmax, hence the same figures
    assert load_exported(exported).predict(texts[:5]) == pipeline.predict(texts[:5])


def test_an_exported_file_loads_predicts_and_evaluates_without_torch(exported):
    code = (
        "import sys; import rnnkit; "
        f"p = rnnkit.load({str(exported)!r}); print(p.predict(['Who wrote Hamlet ?'])[0]); "
        f"assert p.evaluate({str(DATA / 'trec_test.csv')!r})['examples'] == 200; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}


def test_an_exported_file_runs_on_onnxruntime_only(exported):
    with pytest.raises(RnnkitError, match="runs on onnxruntime only; load its model directory") as error:
        rnnkit.load(exported, engine="torch")
    assert str(exported) in str(error.value)
    with pytest.raises(RnnkitError, match="engine must be one of"):
        rnnkit.load(exported, engine="tensorflow")
    with pytest.raises(ModelFileError, match="no such file"):
        rnnkit.load(exported.parent / "missing.onnx")


def test_cli_predicts_and_evaluates_an_exported_file(trained, exported, tmp_path):
    pipeline, _, _ = trained
    run = "import sys; sys.argv = ['rnnkit', *sys.argv[1:]]; from rnnkit.cli import main; main(standalone_mode=False)"
    result = cli(
        "predict", exported, "Who wrote Hamlet ?", "--format", "json", code=f"{run}; assert 'torch' not in sys.modules"
    )
    assert result.returncode == 0, result.stderr
    best = json.loads(result.stdout)["labels"][0]
    assert best["label"] == pipeline.predict(["Who wrote Hamlet ?"])[0]
    assert best["probability"] == pytest.approx(float(pipeline.predict_proba(["Who wrote Hamlet ?"]).max()), abs=1e-5)
    report = tmp_path / "report.json"
    no_torch = f"{run}; assert 'torch' not in sys.modules"
    result = cli("evaluate", exported, DATA / "trec_test.csv", "--report", report, code=no_torch)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("read 200 rows of ")  # every row read or reported
    assert json.loads(report.read_text())["accuracy"] == pytest.approx(
        pipeline.evaluate(DATA / "trec_test.csv")["accuracy"]
    )


def test_cli_on_an_exported_file_without_onnxruntime_says_what_to_install(exported):
    run = "import sys; sys.argv = ['rnnkit', *sys.argv[1:]]; from rnnkit.cli import main; main()"
    result = cli("predict", exported, "x", code=f"import sys; sys.modules['onnxruntime'] = None; {run}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "pip install 'rnnkit[onnx]'" in lines[0], lines


def test_export_never_overwrites_silently(trained, tmp_path):
    _, out, _ = trained
    path = tmp_path / "model.onnx"
    path.write_bytes(b"someone else's model")
    with pytest.raises(RnnkitError, match="already exists; nothing was written"):
        export_onnx(out, path, check=False)
    assert path.read_bytes() == b"someone else's model"
    export_onnx(out, path, check=False, overwrite=True)
    assert load_exported(path).labels == trained[0].labels
    result = cli("export", out, path)
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "--overwrite" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = cli("export", out, path, "--overwrite")
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------------------------------------- blank texts
def test_blank_texts_are_answered_with_a_warning(trained):
    pipeline, out, _ = trained
    texts = ["Who wrote Hamlet ?", "How far is the moon ?", "", "What is a cat ?", " \t "]
    for model in (pipeline, load_onnx(out)):
        with pytest.warns(RnnkitWarning, match=r"^2 of 5 texts are blank \(texts 3, 5\): their predictions rest on no"):
            probabilities = model.predict_proba(texts)
        assert probabilities.shape == (5, len(model.labels))
        with pytest.warns(RnnkitWarning, match=r"1 of 2 texts is blank \(text 2\)"):
            assert len(model.predict(["Who wrote Hamlet ?", ""])) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipeline.predict(texts[:2])  # no blank, no warning
        pipeline.predict_proba(texts, warn=False)


def test_cli_names_blank_input_lines_across_batches(trained, tmp_path):
    _, out, _ = trained
    lines = ["Who wrote Hamlet ?", "What is a cat ?", "", "How far is the moon ?", "   ", "Why ?", *["x ?"] * 6, ""]
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(lines) + "\n")
    result = cli("predict", out, "--file", texts, "--batch-size", "2", "--format", "tsv")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(lines)  # every line answered
    assert result.stderr.strip().splitlines() == [
        "warning: 3 of 13 lines are blank (lines 3, 5, 13): their predictions rest on no words"
    ]


# ------------------------------------------------------------------------------------------------- long texts
LONG = "who wrote hamlet " * 150  # 450 tokens: 50 beyond the default max_length (400)
CUT = r"tokens beyond the model's max_length \(400\) were not read"


def test_texts_cut_to_max_length_are_named_in_a_warning(trained):
    """A classifier reads a text's first ``max_length`` tokens: it says which texts were cut, and by how much."""
    pipeline, out, _ = trained
    assert pipeline.max_length == 400
    texts = ["Who wrote Hamlet ?", LONG, "What is a cat ?", LONG + "and more"]
    first_400 = "who wrote hamlet " * 133 + "who"
    for model in (pipeline, load_onnx(out)):
        with pytest.warns(RnnkitWarning, match=rf"^2 of 4 texts are cut \(texts 2, 4\): 102 {CUT}$"):
            probabilities = model.predict_proba(texts)
        with pytest.warns(RnnkitWarning, match=rf"^the text is cut: 50 {CUT}$"):
            assert len(model.predict(LONG)) == 1
        with pytest.warns(RnnkitWarning, match=rf"^1 of 2 texts is cut \(text 1\): 52 {CUT}$"):
            model.predict([LONG + "and more", "Who ?"])
        again, truncated = model.predict_proba_truncated(texts)
        assert truncated.tolist() == [0, 50, 0, 52]
        np.testing.assert_array_equal(again, probabilities)
        read = model.predict_proba([first_400], warn=False)[0]  # what the network read of the long text
        np.testing.assert_allclose(probabilities[1], read, atol=1e-6)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.predict_proba(texts, warn=False)
            model.predict(texts[:1] + [first_400])  # 400 tokens exactly: read whole, no warning


def test_evaluate_names_the_lines_of_texts_cut_to_max_length(trained, tmp_path):
    pipeline, out, _ = trained
    label = pipeline.labels[0]
    data = tmp_path / "long.csv"
    data.write_text(f"label,text\n{label},Who ?\n{label},{LONG}\n{label},What ?\n{label},{LONG}\n")
    with pytest.warns(RnnkitWarning, match=rf"^2 of 4 texts are cut \(lines 3, 5\): 100 {CUT}$"):
        report = load_onnx(out).evaluate(data)
    assert report["truncated_texts"] == 2 and report["examples"] == 4
    result = cli("evaluate", out, data)
    assert result.returncode == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warned == [f"warning: 2 of 4 texts are cut (lines 3, 5): 100 {CUT.replace(chr(92), '')}"]


def test_cli_says_once_which_lines_were_cut_and_json_says_by_how_much(trained, tmp_path):
    _, out, _ = trained
    lines = ["Who wrote Hamlet ?", LONG, "What is a cat ?", "", *["x ?"] * 5, LONG + "and more", "Why ?"]
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(lines) + "\n")
    result = cli("predict", out, "--file", texts, "--batch-size", "2", "--format", "json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("truncated") for r in records] == [None, 50, None, None, *[None] * 5, 52, None]
    assert result.stderr.strip().splitlines() == [
        "warning: 1 of 11 lines is blank (line 4): its prediction rests on no words",
        f"warning: 2 of 11 lines are cut (lines 2, 10): 102 {CUT.replace(chr(92), '')}",
    ]
    one = cli("predict", out, LONG)
    assert one.returncode == 0 and len(one.stdout.splitlines()) == 1
    assert one.stderr.strip() == f"warning: the text is cut: 50 {CUT.replace(chr(92), '')}"
