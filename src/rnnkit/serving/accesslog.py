"""The access log: one JSON line per request, to standard error or to a file (``--access-log FILE``).

A line holds ``time`` (UTC, ISO 8601, milliseconds), ``client`` (the peer's address), ``worker`` (the process id),
``method``, ``endpoint`` (the path), ``status``, ``texts`` (how many texts the model read for it), ``ms`` (from its
arrival to the end of its answer), ``batch`` (the texts of the model call that answered it; null where there was
none), and where they apply ``token`` (a fingerprint of the token used: the first 8 hex digits of its SHA-256,
never the token) and ``refused`` (why the gate refused it: unauthorized, rate_limited, overloaded, timeout,
too_large). The texts themselves are written only with ``--log-texts`` (``inputs``): what people send a model may
be private.

Each line is one ``write`` to a file opened for appending, so that the lines of several workers writing to one file
(or to one standard error) never mix.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

MAX_PATH = 200  # characters of a path written (a client chooses the path)


class AccessLog:
    """Writes the lines; ``path`` None: standard error."""

    def __init__(self, path: str | None = None, texts: bool = False) -> None:
        self.path = path
        self.texts = texts
        self._second, self._stamp = -1, ""  # the last second written, formatted (a line's time costs a lookup)
        if path is None:
            self._fd, self._owned = sys.stderr.fileno(), False
        else:
            self._fd, self._owned = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640), True

    def now(self) -> str:
        """The time in UTC, ISO 8601 with milliseconds: ``2026-12-07T09:16:36.123Z``."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((now - second) * 1000):03d}Z"

    def write(self, fields: dict[str, Any]) -> None:
        line = {"time": self.now(), **fields}
        if len(line.get("endpoint", "")) > MAX_PATH:
            line["endpoint"] = line["endpoint"][:MAX_PATH] + "..."
        data = (json.dumps(line) + "\n").encode()  # ASCII: any other character escaped, whatever reads the log
        while data:  # a pipe may take a long line in parts
            data = data[os.write(self._fd, data) :]

    def close(self) -> None:
        if self._owned:
            os.close(self._fd)
            self._owned = False


def check_writable(path: str) -> None:
    """Opens ``path`` for appending once, so that a log that cannot be written is one line at start, not later."""
    from rnnkit.errors import RnnkitError

    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640))
    except OSError as e:
        raise RnnkitError(f"cannot write the access log {path} ({e.strerror})") from None
