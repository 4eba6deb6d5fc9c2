"""Pages of docs/ whose code runs: their ```python blocks, found and executed in order in one namespace, like a
notebook's cells (docs/lesson.md, docs/adding-a-task.md)."""

from __future__ import annotations

import re
import time
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^(\s*)```(.*)$")


def code_blocks(page: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The page's ```python blocks as (line number, source), and every other fenced block as (line number,
    info string): a block the test would not run."""
    python, other = [], []
    lines = page.read_text(encoding="utf-8").splitlines()
    start = info = None
    for number, line in enumerate(lines, 1):
        fence = FENCE.match(line)
        if not fence:
            continue
        if start is None:
            start, info = number, fence.group(2).strip()
        else:
            if fence.group(2).strip():
                raise AssertionError(f"{page.name} line {number}: a closing fence with an info string")
            body = "\n".join(lines[start : number - 1])
            (python if info == "python" else other).append((start, body if info == "python" else info))
            start = None
    assert start is None, f"{page.name} line {start}: a code block is never closed"
    return python, other


def run_blocks(page: Path, blocks: list[tuple[int, str]], namespace: dict) -> dict:
    """Run ``blocks`` of ``page`` in ``namespace``, each compiled at its own line numbers; a block that raises
    fails the test, naming the block."""
    for index, (line, source) in enumerate(blocks, 1):
        code = compile("\n" * line + source, str(page), "exec")  # blank lines first: tracebacks name the page's lines
        started = time.perf_counter()
        error = None
        try:
            exec(code, namespace)
        except Exception:
            error = traceback.format_exc()
        if error is not None:
            pytest.fail(f"{page.name} block {index} of {len(blocks)} (line {line}) raised:\n{error}", pytrace=False)
        print(f"block {index} (line {line}): {time.perf_counter() - started:.1f} s")
    return namespace
