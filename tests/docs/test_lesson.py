"""docs/lesson.md runs: its ```python blocks, executed in order in one namespace like a notebook's cells.

The quick test runs the page small (``RNNKIT_LESSON=quick``); ``pytest -m slow tests/docs`` runs it in full.
"""

from __future__ import annotations

import re
import tempfile
import time
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LESSON = ROOT / "docs" / "lesson.md"
DATA = ROOT / "tests" / "data"
FENCE = re.compile(r"^(\s*)```(.*)$")


def code_blocks(markdown: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The page's ```python blocks as (line number, source), and every other fenced block as (line number,
    info string): a block the test would not run."""
    python, other = [], []
    lines = markdown.splitlines()
    start = info = None
    for number, line in enumerate(lines, 1):
        fence = FENCE.match(line)
        if not fence:
            continue
        if start is None:
            start, info = number, fence.group(2).strip()
        else:
            if fence.group(2).strip():
                raise AssertionError(f"docs/lesson.md line {number}: a closing fence with an info string")
            body = "\n".join(lines[start : number - 1])
            (python if info == "python" else other).append((start, body if info == "python" else info))
            start = None
    assert start is None, f"docs/lesson.md line {start}: a code block is never closed"
    return python, other


def run_lesson(mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RNNKIT_LESSON", mode)
    monkeypatch.setenv("RNNKIT_LESSON_DATA", str(DATA))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the page's temporary run directories go here
    blocks, _ = code_blocks(LESSON.read_text(encoding="utf-8"))
    namespace: dict = {"__name__": "__lesson__"}
    for index, (line, source) in enumerate(blocks, 1):
        # Blank lines in front, so that a traceback's line numbers are the page's own.
        code = compile("\n" * line + source, str(LESSON), "exec")
        started = time.perf_counter()
        error = None
        try:
            exec(code, namespace)
        except Exception:
            error = traceback.format_exc()
        if error is not None:
            pytest.fail(f"docs/lesson.md block {index} of {len(blocks)} (line {line}) raised:\n{error}", pytrace=False)
        print(f"block {index} (line {line}): {time.perf_counter() - started:.1f} s")
    return namespace


def test_every_code_block_is_run() -> None:
    python, other = code_blocks(LESSON.read_text(encoding="utf-8"))
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
