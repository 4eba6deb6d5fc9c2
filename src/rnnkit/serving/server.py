"""``rnnkit serve``: the app run by uvicorn, one process or ``workers`` of them, stopped gracefully.

Ctrl-C or SIGTERM stops accepting connections, lets the requests in flight finish, and exits with status 0 (uvicorn
would re-raise the signal after its graceful shutdown, which ends the process as killed).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from rnnkit.serving.app import create_app
from rnnkit.serving.limits import Limits
from rnnkit.serving.model import ServedModel

SETTINGS = "RNNKIT_SERVE"  # how the worker processes learn what to serve
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class GracefulServer(uvicorn.Server):
    """uvicorn's server, which on SIGINT/SIGTERM shuts down gracefully and then returns, signal handled."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def app_from_environment() -> Any:
    """The app of a worker process: what to serve comes from the ``RNNKIT_SERVE`` environment variable."""
    settings = json.loads(os.environ[SETTINGS])
    served = ServedModel.load(settings["model"])
    return create_app(served, Limits(**settings["limits"]), settings["max_batch"])


def url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(
    model: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    max_batch: int = 256,
    limits: Limits | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """Serve ``model`` until Ctrl-C or SIGTERM. The model is loaded (and checked) here first, so that a bad
    directory fails at once in one line, before any worker starts."""
    limits = limits or Limits()
    served = ServedModel.load(model)
    where = url(host, port)
    reach = (
        "this machine only (loopback); --host 0.0.0.0 serves other machines"
        if host in LOOPBACK
        else "every machine that can reach this address"
    )
    say(f"serving {model} ({served.title}, on {served.info['engine']}) at {where}/ for {reach}")
    say(f"the page: {where}/   the API: {where}/docs   Ctrl-C stops it")
    options = dict(host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=30)
    if workers == 1:
        GracefulServer(uvicorn.Config(create_app(served, limits, max_batch), **options)).run()
        return
    os.environ[SETTINGS] = json.dumps({"model": model, "limits": limits.to_dict(), "max_batch": max_batch})
    uvicorn.run("rnnkit.serving.server:app_from_environment", factory=True, workers=workers, **options)
