"""Model directories written by an earlier release keep loading and give the same answers.

``tests/data/model-0.1`` was saved by rnnkit 0.1.0 (commit 78ec238) with the probabilities it gave then; see
``tests/data/PROVENANCE.md``. Never regenerate it.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rnnkit
from rnnkit.runtime import onnxruntime_available

DATA = Path(__file__).parents[1] / "data"
MODEL = DATA / "model-0.1"
EXPECTED = json.loads((DATA / "model-0.1-expected.json").read_text())


def test_the_fixture_is_what_rnnkit_0_1_wrote():
    config = json.loads((MODEL / "config.json").read_text())
    assert config["rnnkit_version"] == "0.1.0" and config["format_version"] == 1 and "task" not in config


@pytest.mark.parametrize("engine", ["torch", "onnxruntime"])
def test_a_0_1_directory_loads_and_predicts_as_before(engine):
    if engine == "onnxruntime" and not onnxruntime_available():
        pytest.skip("onnxruntime is not installed")
    pipeline = rnnkit.load(MODEL, engine=engine)
    assert pipeline.labels == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    probabilities = pipeline.predict_proba(EXPECTED["texts"])
    np.testing.assert_allclose(probabilities, EXPECTED["probabilities"], atol=1e-6 if engine == "torch" else 1e-5)
    assert pipeline.predict(EXPECTED["texts"]) == EXPECTED["labels"]


def test_a_0_1_directory_evaluates_and_predicts_from_the_command_line(tmp_path):
    env = dict(os.environ, PYTHONWARNINGS="error::UserWarning")
    run = [sys.executable, "-m", "rnnkit.cli"]
    predicted = subprocess.run([*run, "predict", MODEL, EXPECTED["texts"][0]], capture_output=True, text=True, env=env)
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.split()[0] == EXPECTED["labels"][0]
    evaluated = subprocess.run(
        [*run, "evaluate", MODEL, DATA / "trec_test.csv"], capture_output=True, text=True, env=env
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert "macro-F1" in evaluated.stdout
