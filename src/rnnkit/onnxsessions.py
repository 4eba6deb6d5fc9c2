"""The options of every onnxruntime session rnnkit makes, in one place.

onnxruntime's worker threads spin (busy-wait) for a while after each call, so that the next call starts at once:
right for prediction over a file, batch after batch. A server idles between requests, and on a small machine the
spinning threads take the CPU its event loop and its clients need (measured in ``benchmarks/serve_load.py``), so
``rnnkit serve`` turns spinning off before it loads its model.
"""

from __future__ import annotations

from typing import Any

_spinning = True


def spin_between_calls(spin: bool) -> None:
    """Whether sessions made from now on spin between calls (the default) or sleep."""
    global _spinning
    _spinning = spin


def session_options(log_level: int = 3) -> Any:
    """``onnxruntime.SessionOptions``: ``log_level`` 3 logs errors only (its notes on graph rewrites are not the
    user's concern), 4 fatal errors only; spinning as set by :func:`spin_between_calls`."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = log_level
    if not _spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options
