"""A language model through rnnkit's verbs: train, load, generate, evaluate, export; and the seams it shares with
the classifier (one model directory naming its task, one option table keyed by task, verbs that refuse a model
of another task in one line)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from checks import one_line_error

import rnnkit
from rnnkit.errors import RnnkitError
from rnnkit.loading import load_onnx
from rnnkit.options import TrainOptions
from rnnkit.runtime import onnxruntime_available
from rnnkit.tasks.lm.pipeline import LanguageModelPipeline

DATA = Path(__file__).parents[1] / "data"
TEXT = DATA / "shakespeare_sample.txt"
TINY = dict(task="lm", hidden=32, embedding_dim=16, layers=1, epochs=2, batch_size=8, window=32, quiet=True)


def cli(*args):
    env = dict(os.environ, PYTHONWARNINGS="error::UserWarning")
    return subprocess.run(
        [sys.executable, "-m", "rnnkit.cli", *map(str, args)], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("lm") / "run"
    lm = rnnkit.train(TEXT, out=str(out), test=str(TEXT), **TINY)
    return lm, out


def test_a_language_model_learns_and_is_saved_as_one(trained):
    lm, out = trained
    config = json.loads((out / "config.json").read_text())
    assert config["task"] == "lm" and config["format"] == "rnnkit-model" and "labels" not in config
    history = lm.training["members"][0]["history"]
    assert history[-1]["valid_loss"] < math.log(len(lm.vocab) - 2)  # better than uniform over the characters
    assert set(lm.report) >= {"loss", "perplexity", "bits_per_character", "tokens"}
    assert lm.report["bits_per_character"] == pytest.approx(lm.report["loss"] / math.log(2))
    assert {"\n", " ", "R", "r", ":"} <= set(lm.vocab.tokens)  # every character kept as it is: case, space, line
    assert not (out / "checkpoint.pt").exists() and (out / "test_report.json").exists()


def test_generation_repeats_with_a_seed_on_torch_and_onnxruntime(trained):
    lm, out = trained
    text = lm.generate("ROMEO:", length=40, temperature=0.8, seed=3)
    assert text.startswith("ROMEO:") and len(text) == len("ROMEO:") + 40
    torch_lm = rnnkit.load(out, engine="torch")
    assert isinstance(torch_lm, LanguageModelPipeline)
    assert torch_lm.generate("ROMEO:", length=40, temperature=0.8, seed=3) == text
    if onnxruntime_available():
        assert load_onnx(out).generate("ROMEO:", length=40, temperature=0.8, seed=3) == text
    assert "".join(lm.stream("", length=10, top_k=1)) == "".join(lm.stream("", length=10, top_k=1))  # greedy


def test_evaluation_is_the_same_on_both_engines(trained):
    lm, out = trained
    torch_report = rnnkit.load(out, engine="torch").evaluate(TEXT)
    if onnxruntime_available():
        onnx_report = load_onnx(out).evaluate(TEXT)
        assert onnx_report["loss"] == pytest.approx(torch_report["loss"], abs=1e-5)
    assert torch_report["tokens"] > 29_000


def test_the_body_loads_into_a_classifier_by_name(trained):
    lm, _ = trained
    from rnnkit.tasks import build as build_model
    from rnnkit.tasks.classify.config import ClassifierConfig

    config = ClassifierConfig(
        vocab_size=len(lm.vocab), num_classes=2, embedding_dim=16, hidden_size=32, bidirectional=False
    )
    classifier = build_model(config)
    missing, unexpected = classifier.load_state_dict(lm.model.state_dict(), strict=False)
    assert not [name for name in missing if name.startswith(("embedding.", "encoder."))]
    assert torch.equal(classifier.encoder.weight_hh_l0, lm.model.encoder.weight_hh_l0)


def test_the_verbs_read_the_task_from_the_model(trained, tmp_path):
    _, out = trained
    one_line_error(cli("predict", out, "x"), "is a language model: use rnnkit generate")
    one_line_error(cli("generate", DATA / "model-0.1"), "is a text classifier: use rnnkit predict")
    written = cli("generate", out, "--prompt", "ROMEO:", "--length", "30", "--seed", "1", "--top-k", "5")
    assert written.returncode == 0 and written.stdout.startswith("ROMEO:"), written.stderr
    assert (
        written.stdout
        == cli("generate", out, "--prompt", "ROMEO:", "--length", "30", "--seed", "1", "--top-k", "5").stdout
    )
    one_line_error(cli("generate", out, "--top-p", "1.5"), "--top-p must be in (0, 1]")
    one_line_error(cli("generate", out, "--prompt", "Æ"), "characters the model never saw", "'Æ'")
    report = tmp_path / "report.json"
    evaluated = cli("evaluate", out, TEXT, "--report", report)
    assert evaluated.returncode == 0 and "bits per character" in evaluated.stdout, evaluated.stderr
    assert set(json.loads(report.read_text())) >= {"loss", "perplexity", "bits_per_character", "tokens"}


@pytest.mark.skipif(not onnxruntime_available(), reason="onnxruntime is not installed")
def test_export_checks_the_one_step_graph_against_torch(trained, tmp_path):
    from rnnkit.export import TOLERANCE, export_onnx

    _, out = trained
    difference = export_onnx(out, tmp_path / "lm.onnx")
    assert difference is not None and difference <= TOLERANCE


def test_options_are_keyed_by_task():
    lm, classify = TrainOptions(task="lm").resolve(), TrainOptions().resolve()
    assert (lm.tokenizer, lm.lowercase, lm.layers, lm.window) == ("char", False, 2, 128)
    assert (classify.tokenizer, classify.lowercase, classify.layers, classify.window) == ("word", True, 1, None)
    with pytest.raises(RnnkitError, match="--pooling is an option of classify models, not of --task lm"):
        TrainOptions(task="lm", pooling="max").resolve()
    with pytest.raises(RnnkitError, match="--window is an option of lm models"):
        TrainOptions(window=64).resolve()


def test_the_command_line_refuses_an_option_of_another_task_and_shows_each_tasks_defaults(tmp_path):
    one_line_error(cli("train", TEXT, "--task", "lm", "--pooling", "max", "--out", tmp_path / "x"), "--pooling")
    assert not (tmp_path / "x").exists()
    lm_help = cli("train", "--task", "lm", "--help").stdout
    assert "512 for --task lm" in lm_help and "128 for --task lm" in lm_help
    assert "128 for --task classify" in cli("train", "--help").stdout


def test_a_time_budget_stops_training_and_keeps_the_best_so_far(tmp_path):
    lm = rnnkit.train(TEXT, out=str(tmp_path / "r"), max_minutes=1e-4, **{**TINY, "epochs": 50})
    history = lm.training["members"][0]["history"]
    assert lm.training["out_of_time"] and len(history) == 1 and history[0]["steps"] >= 1
    assert rnnkit.load(tmp_path / "r").generate("A", length=5, seed=0)


@pytest.mark.filterwarnings("ignore::rnnkit.errors.RnnkitWarning")  # one epoch of a tiny network learns little
def test_a_validation_file_for_every_task(tmp_path):
    lm = rnnkit.train(TEXT, out=str(tmp_path / "lm"), valid=str(TEXT), **{**TINY, "epochs": 1})
    assert lm.training["valid_tokens"] == len(TEXT.read_text())
    clf = rnnkit.train(
        DATA / "trec_train.csv",
        valid=str(DATA / "trec_test.csv"),
        out=str(tmp_path / "clf"),
        hidden=8,
        embedding_dim=8,
        epochs=1,
        ensemble=1,
        adversarial=0,
        quiet=True,
    )
    assert (clf.training["train_examples"], clf.training["valid_examples"]) == (800, 200)


def test_the_checkpoint_at_an_epochs_end_records_a_whole_epoch(tmp_path):
    from rnnkit.training.trainer import CHECKPOINT

    seen = []

    def stop_after_first_epoch(record):
        state = torch.load(tmp_path / "r" / CHECKPOINT, weights_only=True)
        seen.append((state["epoch"], state["in_epoch"]))  # within an epoch: tests/training/test_survive.py
        raise KeyboardInterrupt

    lm_options = TrainOptions(**{**TINY, "epochs": 3}).resolve()
    from rnnkit.data.corpus import corpus_tokens, read_corpus
    from rnnkit.tasks import build as build_model
    from rnnkit.tasks.lm.config import LanguageModelConfig
    from rnnkit.tasks.lm.objective import LanguageModelTask
    from rnnkit.text import CharTokenizer, Vocab
    from rnnkit.training import TrainConfig, train_loop

    tokens = corpus_tokens(read_corpus(TEXT), CharTokenizer(lowercase=False, keep_whitespace=True))
    vocab = Vocab.build([tokens])
    ids = torch.tensor(vocab.encode(tokens))
    task = LanguageModelTask(ids, None, lm_options.batch_size, lm_options.window, True)
    model = build_model(LanguageModelConfig(vocab_size=len(vocab), hidden_size=16, embedding_dim=8, num_layers=1))
    with pytest.raises(KeyboardInterrupt):
        train_loop(
            model, task, TrainConfig(epochs=3), tmp_path / "r", progress=False, on_epoch_end=stop_after_first_epoch
        )
    assert seen == [(1, None)]


@pytest.mark.skipif(not onnxruntime_available(), reason="onnxruntime is not installed")
def test_generate_runs_on_onnxruntime_without_torch(trained):
    _, out = trained
    run = "import sys; sys.argv = ['rnnkit', *sys.argv[1:]]; from rnnkit.cli import main; main(standalone_mode=False)"
    code = f"{run}; assert 'torch' not in sys.modules, 'torch was imported'"
    result = subprocess.run(
        [sys.executable, "-c", code, "generate", str(out), "--prompt", "ROMEO:", "--length", "20", "--seed", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip("\n") == rnnkit.load(out, engine="torch").generate("ROMEO:", 20, seed=2)


def test_a_prompt_as_long_as_a_command_line_allows_is_read_in_bounded_memory(tmp_path):
    """120 KB of prompt (a command-line argument holds at most 128 KiB on Linux) to a word model: read whole, its
    scores after every one of its 30,000 words took about 500 MB here (3.6 GB with a 13,500-word vocabulary); read
    in pieces, the process peaks near 100 MB. The peak is the command's ``ru_maxrss`` (kilobytes on Linux), from
    a wrapper of its own; the text written is the same as the Python API's."""
    out = tmp_path / "words"
    lm = rnnkit.train(TEXT, out=str(out), **{**TINY, "tokenizer": "word", "epochs": 1})
    prompt = (TEXT.read_text(encoding="utf-8") * 5)[:120_000]
    wrapper = (
        "import resource, subprocess, sys\n"
        "result = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(result.stdout)\n"
        "print(result.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    command = [sys.executable, "-m", "rnnkit.cli", "generate", str(out), "--prompt", prompt, "--length", "5"]
    result = subprocess.run(
        [sys.executable, "-c", wrapper, *command, "--seed", "4"], capture_output=True, text=True, timeout=300
    )
    code, peak_kb = map(int, result.stdout.split())
    assert code == 0
    assert result.stderr.rstrip("\n") == lm.generate(prompt, 5, seed=4)
    assert peak_kb < 250_000, f"peak {peak_kb / 1000:.0f} MB"


def test_several_text_files_are_one_corpus(tmp_path):
    text = TEXT.read_text()
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text(text[:15_000])
    second.write_text(text[15_000:])
    result = cli(
        "train",
        first,
        second,
        "--task",
        "lm",
        "--hidden",
        "16",
        "--embedding-dim",
        "8",
        "--layers",
        "1",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--window",
        "16",
        "--out",
        tmp_path / "run",
        "-q",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "run" / "config.json").read_text())["training"]["train_tokens"] == 27_000
    one_line_error(cli("train", first, second, "--out", tmp_path / "clf"), "trains on one file", "--task lm")


def test_an_interrupted_language_model_resumes_to_the_uninterrupted_one(tmp_path):
    small = ["--task", "lm", "--hidden", "16", "--embedding-dim", "8", "--layers", "2", "--epochs", "3"]
    small += ["--batch-size", "8", "--window", "16", "-q"]
    args = ["train", TEXT, "--out", tmp_path / "run", *small]
    assert cli("train", TEXT, "--out", tmp_path / "whole", *small).returncode == 0
    code = (
        "import sys, rnnkit.training.trainer as t\n"
        "real = t.save_checkpoint\n"
        "def save_then_stop(run_dir, state):\n"
        "    real(run_dir, state)\n"
        "    if state['epoch'] == 2: raise KeyboardInterrupt\n"
        "t.save_checkpoint = save_then_stop\n"
        "from rnnkit.cli import main\n"
        "sys.exit(main())\n"
    )
    stopped = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)
    assert stopped.returncode == 130 and "--resume" in stopped.stderr
    resumed = cli(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    whole, run = tmp_path / "whole" / "model.safetensors", tmp_path / "run" / "model.safetensors"
    assert run.read_bytes() == whole.read_bytes()


def test_stream_yields_each_piece_as_soon_as_it_is_drawn(trained):
    """The prompt is read in one step and each later token costs one step: after the first piece only the prompt's
    step has run (a stream that drew every token before yielding the first would not be one)."""
    lm, _ = trained
    calls = []
    real = lm.step

    def counting(ids, state):
        calls.append(ids.shape)
        return real(ids, state)

    lm.step = counting
    try:
        stream = lm.stream("ROMEO:", length=50, seed=0)
        next(stream)
        assert calls == [(1, len("ROMEO:"))]
        rest = list(stream)
    finally:
        del lm.step
    assert len(rest) == 49 and calls[1:] == [(1, 1)] * 49


def test_a_conllu_file_implies_tagging(tmp_path):
    """Without --task, a .conllu file is read as tagged sentences (here refused for having one tag only), never as
    labelled texts or running text."""
    data = tmp_path / "train.conllu"
    data.write_text("1\tHello\thello\tINTJ\t_\t_\t0\troot\t_\t_\n\n")
    with pytest.raises(RnnkitError, match="a tagger needs at least two tags"):
        rnnkit.train(data)
    one_line_error(cli("train", data), "a tagger needs at least two tags")


@pytest.mark.skipif(not onnxruntime_available(), reason="onnxruntime is not installed")
def test_an_exported_language_model_is_a_model_too(trained, tmp_path):
    from rnnkit.export import export_onnx
    from rnnkit.exported import load_exported

    lm, out = trained
    path = tmp_path / "lm.onnx"
    export_onnx(out, path)
    exported = load_exported(path)
    assert exported.generate("ROMEO:", length=30, seed=4) == lm.generate("ROMEO:", length=30, seed=4)
    assert exported.evaluate(TEXT)["loss"] == pytest.approx(lm.evaluate(TEXT)["loss"], abs=1e-5)
    written = cli("generate", path, "--prompt", "ROMEO:", "--length", "30", "--seed", "4")
    assert written.returncode == 0 and written.stdout.rstrip("\n") == lm.generate("ROMEO:", length=30, seed=4)
    one_line_error(cli("predict", path, "x"), "is a language model: use rnnkit generate")


def test_validation_during_training_and_evaluate_score_a_text_alike(tmp_path):
    lm = rnnkit.train(TEXT, out=str(tmp_path / "r"), valid=str(TEXT), **{**TINY, "epochs": 1})
    assert lm.training["valid"]["loss"] == pytest.approx(rnnkit.load(tmp_path / "r").evaluate(TEXT)["loss"], abs=1e-5)
