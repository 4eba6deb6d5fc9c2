"""A translator through rnnkit's verbs: train on the command line, translate (arguments, a file, standard input, the
n best), evaluate, export to one ONNX file that translates as the directory does, inspect the attention, serve
POST /translate; and the refusals, each in one line."""

import html
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from checks import one_line_error

import rnnkit
from rnnkit.errors import ModelFileError
from rnnkit.options import TrainOptions
from rnnkit.runtime import onnxruntime_available

pytestmark = pytest.mark.usefixtures("one_thread")
DATA = Path(__file__).parents[1] / "data"
PAIRS, VALID = DATA / "tatoeba_eng_fra_train_sample.tsv", DATA / "tatoeba_eng_fra_valid_sample.tsv"
TINY = ["--pieces", "400", "--embedding-dim", "24", "--hidden", "24", "--decoder-hidden", "32", "--epochs", "2",
        "--batch-size", "32", "--lr", "5e-3", "--beam", "3"]  # fmt: skip
TEXTS = ["I love you.", "Where is the station?", "Tom is here."]
needs_onnxruntime = pytest.mark.skipif(not onnxruntime_available(), reason="onnxruntime is not installed")


def cli(*args, stdin=None):
    env = dict(os.environ, PYTHONWARNINGS="error::UserWarning", OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "rnnkit.cli", *map(str, args)],
        capture_output=True, text=True, env=env, timeout=300, input=stdin,
    )  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("translate") / "run"
    result = cli("train", PAIRS, "--task", "translate", "--test", VALID, "--out", out, "-q", *TINY)
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def test_training_on_the_command_line_reports_bleu(trained):
    out, printed = trained
    assert "validation (greedy): BLEU" in printed and f"test set {VALID}" in printed and "chrF" in printed
    assert f"next: rnnkit translate {out}" in printed
    report = json.loads((out / "test_report.json").read_text())
    assert 0 <= report["bleu"] <= 100 and report["sentences"] <= 150 and report["beam"] == 3


def test_translate_reads_arguments_a_file_and_standard_input_alike(trained, tmp_path):
    out, _ = trained
    model = rnnkit.load(out)
    expected = model.translate(TEXTS)
    given = cli("translate", out, *TEXTS)
    assert given.returncode == 0 and given.stdout.splitlines() == expected, given.stderr
    file = tmp_path / "texts.txt"
    file.write_text("\n".join([TEXTS[0], "", *TEXTS[1:]]) + "\n")
    from_file = cli("translate", out, "--file", file)
    assert from_file.stdout.splitlines() == [expected[0], "", *expected[1:]], from_file.stderr
    piped = cli("translate", out, "--format", "json", stdin="\n".join(TEXTS) + "\n")
    lines = [json.loads(line) for line in piped.stdout.splitlines()]
    assert [line["source"] for line in lines] == TEXTS and [line["translation"] for line in lines] == expected
    greedy = cli("translate", out, "--beam", "1", TEXTS[0])
    assert greedy.stdout.strip() == model.translate(TEXTS[0], beam=1)
    best = json.loads(cli("translate", out, "--beam", "4", "--n-best", "3", TEXTS[1]).stdout)
    assert len(best["translations"]) == 3 and best["translations"][0]["translation"] == model.translate(TEXTS[1], 4)
    scores = [t["score"] for t in best["translations"]]
    assert scores == sorted(scores, reverse=True)


def test_a_file_translated_into_another_is_written_whole_and_kept(trained, tmp_path):
    out, _ = trained
    source, target = tmp_path / "english.txt", tmp_path / "french.txt"
    source.write_text("\n".join(TEXTS * 30) + "\n")
    written = cli("translate", out, "--file", source, "--output", target)
    assert written.returncode == 0 and "90 translations written" in written.stderr, written.stderr
    assert target.read_text().splitlines() == rnnkit.load(out).translate(TEXTS * 30)
    one_line_error(cli("translate", out, "--file", source, "--output", target), "exists", "--overwrite")
    assert cli("translate", out, "--file", source, "--output", target, "--overwrite").returncode == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_standard_input_is_answered_line_by_line_as_it_comes(trained):
    out, _ = trained
    expected = rnnkit.load(out).translate(TEXTS[:2])
    env = dict(os.environ, OMP_NUM_THREADS="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnkit.cli", "translate", str(out)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, bufsize=1,
    )  # fmt: skip
    try:
        for text, translation in zip(TEXTS[:2], expected, strict=True):
            process.stdin.write(text + "\n")
            process.stdin.flush()
            assert process.stdout.readline().rstrip("\n") == translation  # before the next line is sent
        process.stdin.close()
        assert process.wait(timeout=60) == 0, process.stderr.read()
    finally:
        process.kill()


def test_the_verbs_refuse_what_does_not_fit_in_one_line(trained, tmp_path):
    out, _ = trained
    one_line_error(cli("translate", out, "--n-best", "5", "x"), "--n-best 5 is more than the beam holds (3)")
    one_line_error(cli("predict", out, "x"), "is a translator: use rnnkit translate")
    one_line_error(cli("translate", DATA / "model-0.1", "x"), "is a text classifier: use rnnkit predict")
    one_line_error(cli("evaluate", DATA / "model-0.1", VALID, "--beam", "2"), "--beam is for translators")
    one_line_error(cli("train", PAIRS, "--task", "translate", "--window", "5", "--out", tmp_path / "x"), "--window")
    one_line_error(cli("train", PAIRS, "--task", "translate", "--pieces", "3", "--out", tmp_path / "y"), "--pieces")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_evaluate_scores_a_file_of_pairs(trained, tmp_path):
    out, _ = trained
    report = tmp_path / "report.json"
    result = cli("evaluate", out, VALID, "--beam", "2", "--report", report)
    assert result.returncode == 0 and result.stdout.startswith("BLEU "), result.stderr
    assert "read 150 rows" in result.stderr
    written = json.loads(report.read_text())
    assert written["beam"] == 2 and written["bleu"] == rnnkit.load(out).evaluate(VALID, beam=2)["bleu"]
    assert "translations" not in written
    cli("evaluate", out, VALID, "--per-sentence", "--report", report, "--overwrite")
    rows = json.loads(report.read_text())["translations"]
    assert set(rows[0]) == {"source", "translation", "references"} and sum(len(r["references"]) for r in rows) == 150


def test_the_defaults_are_the_translators_own():
    options = TrainOptions(task="translate").resolve()
    assert (options.pieces, options.hidden, options.decoder_hidden, options.epochs) == (4000, 256, 256, 10)
    assert options.tokenizer is None and options.weight_decay == 0.0 and options.label_smoothing == 0.1
    assert options.dropout == 0.0
    budget = TrainOptions(task="translate", max_minutes=10).resolve()
    assert budget.epochs is None  # the minutes are planned as steps
    shown = cli("train", "--task", "translate", "--help").stdout
    assert "4000 for --task translate" in shown and "--decoder-hidden" in shown


@needs_onnxruntime
def test_an_exported_translator_translates_as_its_directory_does(trained, tmp_path):
    from rnnkit.export import TOLERANCE, export_onnx
    from rnnkit.exported import load_exported

    out, _ = trained
    path = tmp_path / "translator.onnx"
    assert export_onnx(out, path) <= TOLERANCE
    exported, model = load_exported(path), rnnkit.load(out)
    assert exported.translate(TEXTS) == model.translate(TEXTS)
    assert exported.evaluate(VALID)["bleu"] == model.evaluate(VALID)["bleu"]
    result = cli("translate", path, *TEXTS)
    assert result.returncode == 0 and result.stdout.splitlines() == model.translate(TEXTS), result.stderr
    code = (
        "import sys; sys.modules['torch'] = None\n"
        f"from rnnkit.exported import load_exported; print(load_exported({str(path)!r}).translate({TEXTS[0]!r}))"
    )
    alone = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert alone.returncode == 0 and alone.stdout.strip() == model.translate(TEXTS[0]), alone.stderr


@needs_onnxruntime
def test_a_damaged_or_edited_export_is_refused_in_one_line(trained, tmp_path):
    import base64

    import onnx

    from rnnkit.export import export_onnx
    from rnnkit.exported import CHECKSUM, checksum, load_exported

    out, _ = trained
    path = tmp_path / "translator.onnx"
    export_onnx(out, path)
    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}

    def edited(**changes):
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        del copy.metadata_props[:]
        onnx.helper.set_model_props(copy, {**meta, **changes})
        onnx.helper.set_model_props(copy, {**meta, **changes, CHECKSUM: checksum(copy)})  # as a stranger could
        target = tmp_path / "edited.onnx"
        target.write_bytes(copy.SerializeToString())
        return target

    with pytest.raises(ModelFileError, match="'step_graph' is not base64"):
        load_exported(edited(step_graph="not base64!"))
    with pytest.raises(ModelFileError, match="target.spm"):
        load_exported(edited(**{"target.spm": meta["source.spm"][:-8] + "AAAAAAA="}))
    step = onnx.ModelProto()
    step.ParseFromString(base64.b64decode(meta["step_graph"]))
    step.graph.node[0].op_type = "Loop"
    with pytest.raises(ModelFileError, match="operators rnnkit never writes: Loop"):
        load_exported(edited(step_graph=base64.b64encode(step.SerializeToString()).decode()))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    one_line_error(cli("translate", path, "x"), str(path))


def test_inspect_shows_where_the_decoder_looked(trained, tmp_path):
    out, _ = trained
    model = rnnkit.load(out, engine="torch")
    inspection = model.inspect(TEXTS[1])
    prediction = inspection.data["prediction"]
    assert prediction["translation"] == model.translate(TEXTS[1])
    attention = prediction["attention"]
    assert len(attention) == len(prediction["target"]) and prediction["target"][-1] == "</s>"
    assert all(len(row) == len(inspection.data["tokens"]) and abs(sum(row) - 1) < 1e-4 for row in attention)
    assert inspection.data["layers"][0]["hidden"]  # the encoder's states over the source's pieces
    page = inspection.html()
    assert "Where the decoder looked" in page and f"<b>{html.escape(prediction['translation'])}</b>" in page
    shown = cli("inspect", out, TEXTS[1])
    assert shown.returncode == 0 and "translation (beam 3)" in shown.stdout, shown.stderr
    written = cli("inspect", out, TEXTS[1], "--out", tmp_path / "seen")
    assert written.returncode == 0, written.stderr
    assert sorted(p.suffix for p in (tmp_path / "seen").iterdir()) == [".html", ".json", ".png"]


def test_serve_translates_and_batches_concurrent_requests(trained):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx2")
    from fastapi.testclient import TestClient

    from rnnkit.serving.app import create_app
    from rnnkit.serving.model import ServedModel

    out, _ = trained
    model = rnnkit.load(out)
    with TestClient(create_app(ServedModel.load(out))) as client:
        described = client.get("/model").json()
        assert described["task"] == "translate" and described["page"]["endpoint"] == "/translate"
        answer = client.post("/translate", json={"texts": TEXTS})
        assert answer.status_code == 200 and answer.json() == {"translations": model.translate(TEXTS)}
        best = client.post("/translate", json={"texts": TEXTS[:1], "beam": 4, "n_best": 2}).json()["translations"]
        assert [t["translation"] for t in best[0]] == [t.text for t in model.translate(TEXTS[:1], 4, 2)[0]]
        refused = client.post("/translate", json={"texts": TEXTS[:1], "n_best": 5})
        assert refused.status_code == 422 and "n_best must be at most the beam (3)" in refused.json()["error"]
        assert client.post("/translate", json={"texts": [""]}).status_code == 422
        assert client.post("/predict", json={"texts": TEXTS}).status_code == 404
