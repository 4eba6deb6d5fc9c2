"""Figures: a run's curves.png (a line per member of an ensemble, a language model's loss against time too) and
``rnnkit evaluate --plots`` (confusion matrix and F1 per class, for classifiers and taggers); without matplotlib,
training goes on and says so once, and ``--plots`` is refused in one line.

The networks are tiny and train for an epoch or two: the tests are about the figures' plumbing, not the figures."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from checks import one_line_error

import rnnkit
from rnnkit.errors import RnnkitWarning
from rnnkit.plots import training_curves

pytest.importorskip("matplotlib")  # part of the [test] extra; the no-matplotlib tests hide it
from matplotlib.image import imread  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")

DATA = Path(__file__).parents[1] / "data"
CLASSIFY = dict(hidden=8, embedding_dim=8, epochs=2, ensemble=1, adversarial=0, quiet=True)
LM = dict(task="lm", hidden=16, embedding_dim=16, layers=1, epochs=2, batch_size=8, window=32, quiet=True)
TAG = dict(hidden=8, embedding_dim=8, char_hidden=0, layers=1, epochs=1, batch_size=16, quiet=True)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HIDE_MATPLOTLIB = "import sys; sys.modules['matplotlib'] = None; "
RUN_CLI = "sys.argv = ['rnnkit', *sys.argv[1:]]; from rnnkit.cli import main; main()"


def cli(*args, code=None):
    """``rnnkit ARGS`` in a new process, one thread; ``code`` runs the command line in place of the entry point."""
    env = dict(os.environ, PYTHONWARNINGS="error::UserWarning", OMP_NUM_THREADS="1")
    start = [sys.executable, "-c", code] if code else [sys.executable, "-m", "rnnkit.cli"]
    return subprocess.run([*start, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)


def assert_png(path: Path, min_side: int = 200) -> None:
    """A whole PNG image, not a stub: its signature, and pixels that matplotlib reads back."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    height, width = imread(path).shape[:2]
    assert height >= min_side and width >= min_side, (path, height, width)


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    out = tmp_path_factory.mktemp("plots") / "clf"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RnnkitWarning)  # two epochs learn little, and say so
        options = {**CLASSIFY, "ensemble": 2, "valid_split": 0.1}  # a cut, for the validation lines
        return rnnkit.train(DATA / "trec_train.csv", out=str(out), **options), out


@pytest.fixture(scope="module")
def language_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("plots") / "lm"
    return rnnkit.train(DATA / "shakespeare_sample.txt", out=str(out), **LM), out


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    out = tmp_path_factory.mktemp("plots") / "tagger"
    return rnnkit.train(DATA / "ewt_train_sample.conllu", out=str(out), **TAG), out


def test_a_classifier_ensemble_draws_a_line_per_member(ensemble):
    pipeline, out = ensemble
    assert_png(out / "curves.png")
    histories = [member["history"] for member in pipeline.training["members"]]
    loss, score = training_curves(histories, "macro_f1").axes
    assert len(loss.get_lines()) == 4  # training and validation loss of each member
    assert len(score.get_lines()) == 2 and score.get_title() == "validation macro-F1"
    assert [len(line.get_xdata()) for line in score.get_lines()] == [len(h) for h in histories]


def test_without_validation_only_the_training_loss_is_drawn():
    """The fast preset trains on every row: each epoch has a training loss and no score, so one panel."""
    histories = [[{"epoch": e, "train_loss": 1 / e} for e in (1, 2, 3)] for _ in range(2)]
    (loss,) = training_curves(histories, "macro_f1").axes
    assert len(loss.get_lines()) == 2 and [list(line.get_xdata()) for line in loss.get_lines()] == [[1, 2, 3]] * 2


def test_a_language_model_also_draws_its_loss_against_time(language_model):
    lm, out = language_model
    assert_png(out / "curves.png")
    history = lm.training["members"][0]["history"]
    assert all(record["seconds"] > 0 for record in history)
    loss, _, time = training_curves([history], "perplexity", against_time=True).axes
    assert len(loss.get_lines()) == 2  # training and validation loss
    assert time.get_xlabel() == "training time (s)"
    elapsed = time.get_lines()[0].get_xdata()
    assert list(elapsed) == pytest.approx([sum(r["seconds"] for r in history[: i + 1]) for i in range(len(history))])


def test_evaluate_plots_a_classifier_and_keeps_existing_plots(ensemble, tmp_path):
    _, out = ensemble
    figures = tmp_path / "new" / "figures"  # made, parents and all
    result = cli("evaluate", out, DATA / "trec_test.csv", "--plots", figures)
    assert result.returncode == 0, result.stderr
    assert f"plots written to {figures / 'confusion.png'}, {figures / 'f1.png'}" in result.stdout
    for name in ("confusion.png", "f1.png"):
        assert_png(figures / name)
    before = {name: (figures / name).read_bytes() for name in ("confusion.png", "f1.png")}
    again = cli("evaluate", out, DATA / "trec_test.csv", "--plots", figures)
    one_line_error(again, f"{figures / 'confusion.png'} exists", "add --overwrite")
    assert {name: (figures / name).read_bytes() for name in before} == before
    (figures / "confusion.png").unlink()  # f1.png alone is refused too
    one_line_error(cli("evaluate", out, DATA / "trec_test.csv", "--plots", figures), "f1.png exists")
    assert not (figures / "confusion.png").exists()
    replaced = cli("evaluate", out, DATA / "trec_test.csv", "--plots", figures, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert_png(figures / "confusion.png")


def test_evaluate_plots_a_tagger(tagger, tmp_path):
    _, out = tagger
    result = cli("evaluate", out, DATA / "ewt_train_sample.conllu", "--plots", tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("confusion.png", "f1.png"):
        assert_png(tmp_path / name)


def test_plots_of_a_language_model_are_refused_in_one_line(language_model, tmp_path):
    _, out = language_model
    result = cli("evaluate", out, DATA / "shakespeare_sample.txt", "--plots", tmp_path / "figures")
    one_line_error(result, "--plots is for text classifiers and sequence taggers", "a language model")
    assert not (tmp_path / "figures").exists()


def test_without_matplotlib_training_goes_on_and_says_so_once(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    monkeypatch.setattr("rnnkit.plots._noticed", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in ("a", "b"):
            pipeline = rnnkit.train(DATA / "trec_train.csv", out=str(tmp_path / name), **{**CLASSIFY, "epochs": 1})
            assert (pipeline.run_dir / "model.safetensors").exists() and not (pipeline.run_dir / "curves.png").exists()
    notices = [str(w.message) for w in caught if "rnnkit[plots]" in str(w.message)]
    assert notices == ["curves.png not drawn: plots need matplotlib (pip install 'rnnkit[plots]')"]
    assert issubclass(next(w.category for w in caught if "rnnkit[plots]" in str(w.message)), RnnkitWarning)


def test_without_matplotlib_the_command_line_warns_once_and_refuses_plots(ensemble, tmp_path):
    train = cli(
        "train", DATA / "trec_train.csv", "--out", tmp_path / "run", "--ensemble", "1", "--epochs", "1",
        "--hidden", "8", "--embedding-dim", "8", "--adversarial", "0", "-q",
        code=HIDE_MATPLOTLIB + RUN_CLI,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    assert train.stderr.count("rnnkit[plots]") == 1
    assert "warning: curves.png not drawn: plots need matplotlib (pip install 'rnnkit[plots]')" in train.stderr
    _, out = ensemble
    result = cli("evaluate", out, DATA / "trec_test.csv", "--plots", tmp_path / "f", code=HIDE_MATPLOTLIB + RUN_CLI)
    one_line_error(result, "--plots needs matplotlib: pip install 'rnnkit[plots]'")
    assert not (tmp_path / "f").exists()


def test_evaluate_plots_imports_no_torch_on_onnxruntime(ensemble, tmp_path):
    pytest.importorskip("onnxruntime")
    _, out = ensemble
    code = f"import sys, atexit; atexit.register(lambda: print('torch' in sys.modules)); {RUN_CLI}"
    result = cli("evaluate", out, DATA / "trec_test.csv", "--plots", tmp_path, code=code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("False")
