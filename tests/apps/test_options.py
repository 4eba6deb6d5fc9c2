"""The option table, the command line and the layers agree on every name, default and choice."""

from dataclasses import fields

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
