"""The option table, the command line and the layers agree on every name, default and choice."""

from dataclasses import fields

import pytest

from rnnkit.cli import train as train_command
from rnnkit.data import FORMATS
from rnnkit.models import MODELS
from rnnkit.models.config import TASK_CONFIGS
from rnnkit.nn import BACKENDS, CELLS, POOLINGS
from rnnkit.options import CHOICES, TASK_DEFAULTS, TASKS, TrainOptions
from rnnkit.tasks import TASK_TITLES
from rnnkit.text import TOKENIZERS
from rnnkit.training import METRICS
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
    assert set(TASK_CONFIGS) == set(TASKS) == set(TASK_DEFAULTS) == set(TASK_TITLES)


def test_every_option_is_on_the_command_line_with_the_same_default():
    params = {p.name: p for p in train_command.params}
    params["format"] = params.pop("format_")
    defaults = TrainOptions()
    api_only = {"clip"}  # clip has no flag yet
    for field in fields(TrainOptions):
        if field.name in api_only:
            continue
        assert field.name in params, f"--{field.name.replace('_', '-')} missing from rnnkit train"
        param = params[field.name]
        if getattr(defaults, field.name) is not None and not param.is_flag and not param.multiple:
            assert param.default == getattr(defaults, field.name), field.name


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
    from rnnkit.options import AUTO_ENSEMBLE, DEFAULT_PRESET, PRESETS, ensemble_members

    fast, accurate = train_options({}), train_options({"preset": "accurate"})
    assert fast.preset == DEFAULT_PRESET == "fast" and ensemble_members(fast, 5_000) == 1
    assert accurate.preset == "accurate" and ensemble_members(accurate, 5_000) == AUTO_ENSEMBLE
    assert ensemble_members(accurate, 50_000) == 1  # a large data set trains one network either way
    assert train_options({"preset": "accurate", "ensemble": 2}).ensemble == 2  # an option given wins
    for name, value in PRESETS["fast"].items():
        assert getattr(fast, name) == value
    assert train_options({"task": "tag"}).preset is None
    assert train_options({"model": "bag"}).subwords == 0  # the bag reads no sub-words: the preset's are not its own
    with pytest.raises(RnnkitError, match="--preset is an option of classify"):
        train_options({"task": "lm", "preset": "fast"})
    with pytest.raises(RnnkitError, match="--preset must be one of fast, accurate"):
        train_options({"preset": "slow"})
