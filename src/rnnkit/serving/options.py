"""``serve``'s options about its gate, each checked as the command line reads it, so that a bad one is one line
(``error: --rate: ...``) and exit status 2 before anything starts. Nothing heavy is imported here: the command line
imports this module while it parses."""

from __future__ import annotations

import math

from rnnkit.errors import RnnkitError
from rnnkit.serving.auth import read_token_file
from rnnkit.serving.ratelimit import parse_rate


def positive_count(text: str) -> int:
    """A whole number, at least 1."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = 0
    if value < 1:
        raise RnnkitError(f"a whole number, at least 1, is needed; got {text!r}")
    return value


def positive_number(text: str) -> float:
    """A positive, finite number (seconds, a burst)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = 0.0
    if not (value > 0 and math.isfinite(value)):
        raise RnnkitError(f"a positive number is needed; got {text!r}")
    return value


def rate(text: str) -> str:
    """A rate as ``parse_rate`` reads it (``20/s``), kept as written."""
    parse_rate(text)
    return text


def token_file(path: str) -> str:
    """A readable file of valid tokens (read again by the service, and on each SIGHUP)."""
    read_token_file(path)
    return path
