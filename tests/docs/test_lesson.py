"""docs/lesson.md runs: its ```python blocks, executed in order in one namespace like a notebook's cells.

The quick test runs the page small (``RNNKIT_LESSON=quick``); ``pytest -m slow tests/docs`` runs it in full.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from docpages import ROOT, code_blocks, run_blocks

LESSON = ROOT / "docs" / "lesson.md"
DATA = ROOT / "tests" / "data"


def run_lesson(mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RNNKIT_LESSON", mode)
    monkeypatch.setenv("RNNKIT_LESSON_DATA", str(DATA))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the page's temporary run directories go here
    blocks, _ = code_blocks(LESSON)
    return run_blocks(LESSON, blocks, {"__name__": "__lesson__"})


def test_every_code_block_is_run() -> None:
    python, other = code_blocks(LESSON)
    assert not other, f"fenced blocks the test does not run (not ```python): {other}"
    assert len(python) >= 10
    for line, source in python:
        compile(source, f"docs/lesson.md line {line}", "exec")  # each block parses on its own


def test_lesson_runs_quick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    namespace = run_lesson("quick", tmp_path, monkeypatch)
    assert namespace["QUICK"] is True
    scores = namespace["negation_scores"]
    # What the page's prose says the run shows.
    assert scores["bag of embeddings"]["pair accuracy"] <= 0.55
    assert scores["LSTM"]["pair accuracy"] > scores["bag of embeddings"]["pair accuracy"] + 0.1
    assert set(namespace["comparison"]) == set(namespace["networks"])


@pytest.mark.slow
def test_lesson_runs_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the full lesson takes minutes: run it with -m slow")
    namespace = run_lesson("full", tmp_path, monkeypatch)
    assert namespace["QUICK"] is False
    scores = namespace["negation_scores"]
    assert scores["bag of embeddings"]["pair accuracy"] <= 0.55
    assert scores["LSTM"]["pair accuracy"] > scores["bag of embeddings"]["pair accuracy"] + 0.2
