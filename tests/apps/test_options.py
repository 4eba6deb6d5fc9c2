"""The option table, the command line and the layers agree on every name, default and choice: the command line's
options are made from the table, and the default its help shows is, for every task, the one training uses."""

import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from rnnkit import tasks
from rnnkit.cli import main
from rnnkit.data import FORMATS
from rnnkit.nn import BACKENDS, CELLS, POOLINGS
from rnnkit.options import CHOICES, SHARED, TrainOptions, all_options, as_task_has, resolved_defaults
from rnnkit.tasks.classify.config import MODELS
from rnnkit.tasks.classify.objective import METRICS
from rnnkit.tasks.classify.presets import AUTO_ENSEMBLE, DEFAULT_PRESET, PRESETS, ensemble_members
from rnnkit.text import TOKENIZERS
from rnnkit.training.trainer import SCHEDULES


def test_choices_match_the_layers():
    assert set(CHOICES["cell"]) == set(CELLS)
    assert set(CHOICES["pooling"]) == set(POOLINGS)
    assert set(CHOICES["backend"]) == set(BACKENDS)
    assert set(CHOICES["model"]) == set(MODELS)
    assert set(CHOICES["metric"]) == set(METRICS)
    assert set(CHOICES["tokenizer"]) == set(TOKENIZERS)
    assert set(CHOICES["format"]) == set(FORMATS)
    assert set(CHOICES["schedule"]) == set(SCHEDULES)
    for task in tasks.registered().values():
        for name in task.defaults:
            assert name in all_options(), f"{task.name}'s default {name!r} is no option"


def help_entries(task: str) -> dict[str, str]:
    """``rnnkit train --task TASK --help`` as the user reads it: each option's flag and its whole help text."""
    result = CliRunner().invoke(main, ["train", "--task", task, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    entries: dict[str, str] = {}
    current = None
    for line in result.output.split("Options:", 1)[1].splitlines():
        found = re.match(r"^  (?:-\w, )?(--[a-z-]+)", line)
        if found:
            current = found.group(1).split("/")[0]
            entries[current] = line
        elif current is not None:  # a line the help wrapped (after a hyphen: within a word)
            entries[current] += ("" if entries[current].endswith("-") else " ") + line.strip()
    return {flag: re.sub(r"\s+", " ", text) for flag, text in entries.items()}


def shown(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}" if value >= 10_000 else str(value)
    return str(value)


@pytest.mark.parametrize("task", ["classify", "lm", "tag", "translate"])
def test_every_option_is_on_the_command_line_and_its_help_shows_the_default_training_uses(task):
    entries = help_entries(task)
    defaults = resolved_defaults(task)
    for name, option in all_options().items():
        assert option.flag in entries, f"{option.flag} missing from rnnkit train"
        text = entries[option.flag]
        notes = re.findall(r"\[default: ([^\]]*)\]", text)
        assert len(notes) <= 1, f"{option.flag} shows two defaults: {text}"
        value = getattr(defaults, name)
        if name == "task":  # its help says what each task is, and that the default is classify
            assert "[default: classify]" in text
            continue
        if notes and "only" in notes[0]:
            assert task not in notes[0] and value in (None, False), text
            continue
        if notes and option.auto and notes[0] == option.auto:
            continue  # a default that depends on the data or on other options, said in words
        if value is None or value is False or value == ():
            continue  # nothing to show, or what None means (checked below)
        assert notes, f"{option.flag} shows no default; training uses {value!r}"
        assert notes[0].split(" for --task")[0] == shown(value), f"{option.flag}: help {notes[0]!r}, training {value!r}"


def test_the_help_says_what_a_default_left_to_the_data_means():
    accurate = help_entries("classify")["--ensemble"]
    assert "[default: 5 below 20,000 training texts, else 1]" not in accurate  # the fast preset trains one
    assert "[default: 1 for --task classify]" in accurate
    assert "[default: --epochs]" in help_entries("classify")["--self-train-epochs"]
    assert "tied when --embedding-dim equals --hidden" in help_entries("lm")["--tie-weights"]
    tagger = help_entries("tag")
    assert "[default: 50 below 100,000 training words, else 15]" in tagger["--epochs"]
    assert "[default: 10,000 below 100,000 training words, else 0]" in tagger["--subwords"]
    assert "default" not in tagger["--max-minutes"]  # no limit: no "None" shown


def test_the_tasks_are_in_the_same_order_whichever_package_was_imported_first():
    """The order names the owners of an option in its refusal; a tagger's package imported before the rest once
    put the tagger first."""
    code = "import rnnkit.tasks.tag; from rnnkit import tasks; print(' '.join(tasks.names()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["classify", "lm", "tag", "translate"]


@pytest.mark.filterwarnings("ignore::rnnkit.errors.RnnkitWarning")  # one epoch of a tiny network learns little
def test_paths_may_be_given_as_path_objects(tmp_path):
    """A ``Path`` for ``test=``, ``valid=`` or ``out=`` trains as the same string would (it once failed to hash the
    options as JSON)."""
    from pathlib import Path

    import rnnkit

    data = Path(__file__).parents[1] / "data"
    options = TrainOptions(test=data / "trec_test.csv", valid=data / "trec_test.csv", out=tmp_path / "m").resolve()
    assert options.test == str(data / "trec_test.csv") and options.out == str(tmp_path / "m")
    pipeline = rnnkit.train(
        data / "trec_train.csv",
        test=data / "trec_test.csv",
        out=tmp_path / "m",
        epochs=1,
        hidden=4,
        embedding_dim=4,
        ensemble=1,
        adversarial=0,
        quiet=True,
    )
    assert pipeline.report["examples"] > 0 and (tmp_path / "m" / "config.json").exists()


def test_a_classifiers_preset_fills_the_options_not_given():
    from rnnkit.api import train_options
    from rnnkit.errors import RnnkitError

    fast, accurate = train_options(None, {}), train_options(None, {"preset": "accurate"})
    assert fast.preset == DEFAULT_PRESET == "fast" and ensemble_members(fast, 5_000) == 1
    assert accurate.preset == "accurate" and ensemble_members(accurate, 5_000) == AUTO_ENSEMBLE
    assert ensemble_members(accurate, 50_000) == 1  # a large data set trains one network either way
    assert train_options(None, {"preset": "accurate", "ensemble": 2}).ensemble == 2  # an option given wins
    assert (fast.valid_split, accurate.valid_split) == (0.0, 0.1)  # fast trains on every row
    assert train_options(None, {"valid_split": 0.2}).valid_split == 0.2
    for name, value in PRESETS["fast"].items():
        assert getattr(fast, name) == value
    assert train_options(None, {"task": "tag"}).preset is None
    assert train_options(None, {"model": "bag"}).subwords == 0  # the bag reads no sub-words: not the preset's
    with pytest.raises(RnnkitError, match="--preset is an option of classify"):
        train_options(None, {"task": "lm", "preset": "fast"})
    with pytest.raises(RnnkitError, match="--preset must be one of fast, accurate"):
        train_options(None, {"preset": "slow"})


def test_an_option_of_another_task_is_refused_in_one_line():
    from rnnkit.api import train_options
    from rnnkit.errors import RnnkitError

    owners = "classify, tag and translate"
    with pytest.raises(RnnkitError, match=rf"--bidirectional is an option of {owners} models, not of --task lm"):
        train_options(None, {"task": "lm", "bidirectional": True})
    with pytest.raises(RnnkitError, match=r"--window is an option of lm models, not of --task tag"):
        train_options(None, {"task": "tag", "window": 10})
    assert {option.name for option in SHARED} <= set(all_options())


class _Columns(tasks.Task):
    """A task whose one option shares a name with the translator's, as a plugin's may."""

    name = "columns_for_a_test"
    defaults = {"target_column": "number"}

    def __init__(self, option: tasks.Option) -> None:
        self.options = (option,)


@pytest.mark.parametrize(
    ("option", "shared"),
    [
        (tasks.Option("target_column", "The column holding each text's number."), True),  # only the help differs
        (tasks.Option("target_column", "A number.", kind="int"), False),  # another kind: refused
    ],
)
def test_two_tasks_may_share_an_option_name_where_only_its_help_differs(option, shared):
    tasks.register(_Columns(option))
    try:
        if not shared:
            with pytest.raises(ValueError, match="'target_column' is another task's too"):
                all_options()
            return
        option = all_options()["target_column"]  # the first registered's
        assert as_task_has(option, "translate").help.startswith("The translations' column")
        shown = CliRunner().invoke(main, ["train", "--task", "columns_for_a_test", "--help"]).output
        assert "each text's number" in " ".join(shown.split())
        opts = TrainOptions(task="columns_for_a_test").resolve()
        assert opts.target_column == "number"
    finally:
        tasks.unregister("columns_for_a_test")
