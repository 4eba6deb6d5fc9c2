"""``rnnkit serve``: the app run by uvicorn, one process or ``workers`` of them, stopped gracefully.

Ctrl-C or SIGTERM stops accepting connections, lets the requests in flight finish, and exits with status 0 (uvicorn
would re-raise the signal after its graceful shutdown, which ends the process as killed). SIGHUP re-reads the token
file (each worker's :mod:`~rnnkit.serving.gate`; :mod:`~rnnkit.serving.workers` passes it on to them).
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

from rnnkit.serving import auth
from rnnkit.serving import workers as several
from rnnkit.serving.accesslog import check_writable
from rnnkit.serving.app import create_app
from rnnkit.serving.gate import Gate, GateSettings, describe
from rnnkit.serving.limits import Limits
from rnnkit.serving.model import ServedModel

SETTINGS = "RNNKIT_SERVE"  # how the worker processes learn what to serve


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
    gate = Gate(GateSettings(**settings["gate"]), served)
    return create_app(served, Limits(**settings["limits"]), settings["max_batch"], gate)


def preflight(host: str, gate: GateSettings) -> tuple[auth.Tokens | None, str | None]:
    """The tokens, read and checked, and the warning to print (``--no-auth``); refuses (``RnnkitError``) to serve
    beyond loopback without tokens, and an access log that cannot be written. Nothing is bound or loaded yet."""
    tokens = auth.load(gate.token_file, gate.no_auth)
    warning = auth.exposure(host, tokens, gate.no_auth)
    if gate.access_log not in (None, "-"):
        check_writable(gate.access_log)
    return tokens, warning


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
    gate: GateSettings | None = None,
) -> None:
    """Serve ``model`` until Ctrl-C or SIGTERM. The tokens, the access log and the model are read (and checked)
    here first, so that a bad one fails at once in one line, before any worker starts."""
    limits = limits or Limits()
    gate = gate or GateSettings()
    tokens, warning = preflight(host, gate)
    served = ServedModel.load(model)
    where = url(host, port)
    reach = (
        "this machine only (loopback); --host 0.0.0.0 serves other machines"
        if auth.is_loopback(host)
        else "every machine that can reach this address"
    )
    say(f"serving {model} ({served.title}, on {served.info['engine']}) at {where}/ for {reach}")
    say(f"the page: {where}/   the API: {where}/docs   Ctrl-C stops it")
    say(f"gate: {describe(gate, tokens, workers)}")
    if warning:
        say(f"warning: {warning}")
    options = dict(host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=30)
    if workers == 1:
        app = create_app(served, limits, max_batch, Gate(gate, served))
        GracefulServer(uvicorn.Config(app, **options)).run()
        return
    with several.shared(gate) as gate:
        settings = {"model": model, "limits": limits.to_dict(), "max_batch": max_batch, "gate": gate.to_dict()}
        os.environ[SETTINGS] = json.dumps(settings)
        config = uvicorn.Config("rnnkit.serving.server:app_from_environment", factory=True, workers=workers, **options)
        several.run(config)
