"""What every model's use side shares, with or without torch: the engine that runs a network (onnxruntime when it
is installed, else torch) and the warnings about the inputs a model is given (blank texts, texts cut to its
``max_length``), said once, naming them.

Why onnxruntime: it runs a saved model's graph with its weights prepared once, where torch's CPU LSTM kernel
prepares them again on every call. One text through the default five-network ensemble took about a quarter of
the time, and ``rnnkit predict`` starts without importing torch (benchmarks/RESULTS.md). It is optional
(``pip install 'rnnkit[onnx]'``); without it everything runs on torch, and an exported file does not run at all.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rnnkit.errors import RnnkitError, RnnkitWarning

if TYPE_CHECKING:
    pass

ENGINES = ("auto", "torch", "onnxruntime")
SHOWN = 5  # blank texts named in a warning


def onnxruntime_available() -> bool:
    """Whether onnxruntime, and onnx (which builds the graph), import; a broken install counts as absent."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def blank_texts(texts: Sequence[str]) -> list[int]:
    """The 1-based numbers of the blank texts (empty or whitespace only: no token with any tokenizer)."""
    return [i + 1 for i, text in enumerate(texts) if not text.strip()]


def warn_blank(count: int, total: int, first: Sequence[int], unit: str = "text", stacklevel: int = 2) -> None:
    """Warn that ``count`` of ``total`` inputs are blank, naming the first few (``first``, 1-based ``unit`` numbers);
    ``stacklevel`` as for :func:`warnings.warn`, counted from the caller of this function.

    A blank text has no token: the network sees a single ``<unk>``, and its answer is the same whatever was meant.
    It is answered all the same (every input gets its line, in order), but never silently.
    """
    if not count:
        return
    if total == 1:
        message = f"the {unit} is blank: its prediction rests on no words"
    else:
        shown = ", ".join(str(n) for n in first[:SHOWN]) + (", ..." if count > min(len(first), SHOWN) else "")
        which = f"{unit} {shown}" if count == 1 else f"{unit}s {shown}"
        verb, rest = ("is", "its prediction rests") if count == 1 else ("are", "their predictions rest")
        message = f"{count} of {total} {unit}s {verb} blank ({which}): {rest} on no words"
    warnings.warn(message, RnnkitWarning, stacklevel=stacklevel + 1)


def warn_truncated(
    count: int,
    total: int,
    first: Sequence[int],
    tokens: int,
    limit: int | None,
    unit: str = "text",
    named: str | None = None,
    stacklevel: int = 2,
) -> None:
    """Warn that ``count`` of ``total`` inputs (each a ``unit``) are longer than the model's ``max_length`` (``limit``),
    naming the first few (``first``: 1-based numbers of ``named``, the unit by default, or "line" where the input is a
    file): ``tokens`` tokens in all were not read. ``stacklevel`` as for :func:`warn_blank`.

    A classifier reads the first ``max_length`` tokens of a text (400 by default: training cut its texts there too);
    its answer cannot reflect what comes after, so it says so, in the words of ``rnnkit inspect``.
    """
    if not count:
        return
    named = named or unit
    beyond = f"{tokens:,} token{'s' if tokens != 1 else ''} beyond the model's max_length ({limit})"
    beyond += " were not read" if tokens != 1 else " was not read"
    if total == 1:
        message = f"the {unit} is cut: {beyond}"
    else:
        shown = ", ".join(str(n) for n in first[:SHOWN]) + (", ..." if count > min(len(first), SHOWN) else "")
        which = f"{named} {shown}" if count == 1 else f"{named}s {shown}"
        message = f"{count:,} of {total:,} {unit}s {'is' if count == 1 else 'are'} cut ({which}): {beyond}"
    warnings.warn(message, RnnkitWarning, stacklevel=stacklevel + 1)


def choose_engine(engine: str) -> str:
    """``"onnxruntime"`` or ``"torch"`` for ``engine`` (``"auto"``: onnxruntime when it is installed)."""
    if engine not in ENGINES:
        raise RnnkitError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "onnxruntime" and not onnxruntime_available():
        raise RnnkitError("engine 'onnxruntime' needs onnxruntime and onnx: pip install 'rnnkit[onnx]'")
    if engine == "auto":
        return "onnxruntime" if onnxruntime_available() else "torch"
    return engine
