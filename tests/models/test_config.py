"""The torch-free half of the models layer: the config, and the names and shapes of the weights it implies."""

import itertools
import subprocess
import sys

import pytest

from rnnkit.models import weight_shapes
from rnnkit.tasks import build as build_model
from rnnkit.tasks.classify.config import ClassifierConfig

CONFIGS = [
    dict(model=model, cell=cell, bidirectional=bidirectional, num_layers=layers, pooling=pooling, members=members)
    for model, cell, bidirectional, layers, pooling, members in itertools.product(
        ["rnn"], ["lstm", "gru", "rnn"], [True, False], [1, 2], ["last", "attention", "concat"], [1]
    )
] + [dict(model="bag"), dict(model="bag", members=3), dict(members=2, pooling="attention", num_layers=2)]
CONFIGS += [dict(subwords=50), dict(subwords=7, members=2, cell="gru")]


@pytest.mark.parametrize("settings", CONFIGS, ids=lambda s: "-".join(str(v) for v in s.values()))
def test_weight_shapes_are_the_networks_own(settings):
    config = ClassifierConfig(vocab_size=30, num_classes=4, hidden_size=6, embedding_dim=5, **settings)
    expected = {name: tuple(t.shape) for name, t in build_model(config).state_dict().items()}
    assert weight_shapes(config) == expected


def test_config_and_shapes_import_without_torch():
    code = (
        "import sys; from rnnkit.tasks.classify.config import ClassifierConfig; "
        "from rnnkit.models import weight_shapes; "
        "weight_shapes(ClassifierConfig(vocab_size=5, num_classes=2)); assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
