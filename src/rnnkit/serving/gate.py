"""The gate: what every request meets before its endpoint runs, and what is noted of it once it is answered,
whatever the endpoint and whatever the task (the endpoints themselves know nothing of it).

In order, for a request to any path but the open ones (the page ``/``, ``/health``, the API's ``/docs`` and its
schema, which hold no data and which a browser must fetch without a token):

1. **its token** (:mod:`~rnnkit.serving.auth`): missing or wrong, 401 with ``WWW-Authenticate``;
2. **the requests in flight**: at ``max_inflight``, 503 at once (with ``Retry-After: 1``) rather than a queue
   without end. The count is each worker's own (each has its own event loop and model thread: a worker's queue is
   what the cap bounds; ``--workers N`` holds up to N times as many), where the rate is the service's;
3. **its client's rate** (:mod:`~rnnkit.serving.ratelimit`): over it, 429 with ``Retry-After``. The client is the
   token, or, where the service asks no token, the address. A request refused before this step takes nothing from
   its client's rate (a 401 costs the service a hash; a 503 is the service's limit, not the client's);
4. **the time limit**: no answer begun within ``timeout`` seconds, 504. The request's work is dropped: its texts
   still waiting for the model never reach it, a model call already running (at most ``--max-batch`` texts) ends in
   its thread and its result is thrown away, and so does an ``/inspect`` already running. An answer that has begun
   (a ``/generate`` stream) is not cut: its length is bounded by ``--max-length`` instead.

``/health`` and ``/metrics`` pass steps 2-4: a load balancer and a scraper must see an overloaded service. Then every
request, refused or answered, is counted in the metrics (:mod:`~rnnkit.serving.metrics`) and written as one line of
the access log (:mod:`~rnnkit.serving.accesslog`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from rnnkit.errors import RnnkitError
from rnnkit.serving import auth
from rnnkit.serving.accesslog import AccessLog
from rnnkit.serving.metrics import CONTENT_TYPE, Metrics
from rnnkit.serving.ratelimit import Buckets, parse_rate
from rnnkit.serving.record import CURRENT, Record, texts_of

UNLIMITED = ("/health", "/metrics")  # never rate-limited, capped or timed out
DOCS = ("/docs", "/redoc")  # the API's pages as fastapi-offline serves them (it leaves FastAPI's docs_url None)
OTHER = "other"  # the metrics' endpoint label of a path the service does not have (scanners must not add series)


@dataclass(frozen=True)
class GateSettings:
    """What the gate does, as ``serve``'s options say it (plain values, so that worker processes get them as JSON).

    ``access_log``: None, no log; ``"-"``, standard error; else a file. ``buckets_file``: the rate buckets that
    the workers share (set by ``serve`` for ``--workers N``)."""

    token_file: str | None = None
    no_auth: bool = False
    rate: str | None = None
    burst: float | None = None
    max_inflight: int = 256
    timeout: float = 30.0
    metrics_open: bool = False
    access_log: str | None = None
    log_texts: bool = False
    buckets_file: str | None = None

    def __post_init__(self) -> None:
        if self.max_inflight < 1:
            raise RnnkitError(f"the requests in flight must be allowed at least 1; got {self.max_inflight}")
        if not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise RnnkitError(f"the time limit must be a positive number of seconds; got {self.timeout}")
        if self.rate is None and self.burst is not None:
            raise RnnkitError("a burst needs a rate: give --rate too (for example --rate 20/s --burst 40)")
        if self.rate is not None:
            parse_rate(self.rate, self.burst)  # checked here, in one line, before any worker starts

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Exchange:
    """One request as the gate sees it go by."""

    status: int = 0
    started: bool = False  # the answer has begun: too late for a 504
    expired: bool = False
    body: list[bytes] = field(default_factory=list)
    refused: str | None = None
    timer: Any = None


class Gate:
    """The gate around one app; :meth:`wrap` puts it there. ``tokens`` None: no token is asked."""

    def __init__(self, settings: GateSettings, served: Any) -> None:
        self.settings = settings
        self.tokens = auth.load(settings.token_file, settings.no_auth)
        self.rate = parse_rate(settings.rate, settings.burst) if settings.rate else None
        self.buckets = Buckets(self.rate, settings.buckets_file) if self.rate else None
        self.metrics = Metrics(served)
        log = settings.access_log
        self.log = AccessLog(None if log == "-" else log, settings.log_texts) if log else None
        self.in_flight = 0
        self._count_in_flight = not self.metrics.read_in_flight(lambda: self.in_flight)
        self.app: Any = None
        self.open_paths: set[str] = {"/", "/health"}
        self.open_prefixes: tuple[str, ...] = ()
        self.known: set[str] = {"/metrics"}
        self.worker = os.getpid()

    def wrap(self, inner: Any, app: Any) -> Gate:
        """The gate around ``inner`` (the ASGI app of the FastAPI ``app``, whose routes say which paths exist and
        which are its open documentation); the schema at ``/docs`` learns that the API takes a bearer token."""
        from starlette.routing import Mount

        self.app = inner
        docs = (app.docs_url, app.redoc_url, app.openapi_url, app.swagger_ui_oauth2_redirect_url, *DOCS)
        self.open_paths |= {path for path in docs if path}
        self.open_prefixes = tuple(route.path + "/" for route in app.routes if isinstance(route, Mount))
        self.known |= {route.path for route in app.routes if not isinstance(route, Mount)}
        if self.tokens is not None:
            self._document_bearer(app)
        return self

    def _document_bearer(self, app: Any) -> None:
        schema_of = app.openapi

        def openapi() -> dict[str, Any]:
            schema = schema_of()
            schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
                "type": "http",
                "scheme": "bearer",
                "description": "A token of the service's token file or RNNKIT_TOKENS.",
            }
            schema["security"] = [{"bearer": []}]
            for path, operations in schema.get("paths", {}).items():
                if path in self.open_paths:
                    for operation in operations.values():
                        operation["security"] = []
            return schema

        app.openapi = openapi

    # ------------------------------------------------------------------------------------------ ASGI
    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                receive = self._lifespan(receive)
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        record = Record()
        context = CURRENT.set(record)
        exchange = _Exchange()
        path = scope["path"]
        digest = None
        try:
            digest, refusal = self._admit(scope, path)
            if refusal is not None:
                exchange.refused = refusal[0]
                await self._refuse(send, exchange, *refusal[1:])
            elif path == "/metrics":
                await self._metrics(scope, send, exchange)
            elif path in UNLIMITED:
                await self.app(scope, self._receiving(receive, exchange), self._sending(send, exchange))
            else:
                await self._answer(scope, receive, send, exchange)
        finally:
            CURRENT.reset(context)
            self._note(scope, path, exchange, record, digest, time.perf_counter() - began)

    def _admit(self, scope: dict, path: str) -> tuple[bytes | None, tuple | None]:
        """The request's token digest and, if it is refused, (reason, status, message, headers)."""
        digest = None
        if self.tokens is not None and not self._open(path):
            presented = auth.bearer(scope["headers"])
            digest = self.tokens.match(presented) if presented else None
            if digest is None:
                challenge = auth.MISSING if presented is None else auth.INVALID
                headers = [(b"www-authenticate", challenge.header.encode())]
                return None, ("unauthorized", 401, challenge.message, headers)
        if path in UNLIMITED:
            return digest, None
        if self.in_flight >= self.settings.max_inflight:  # before the rate: a request not served costs nothing
            message = f"the service is answering its limit of {self.settings.max_inflight} requests: retry shortly"
            return digest, ("overloaded", 503, message, [(b"retry-after", b"1")])
        if self.buckets is not None:
            client = digest or b"address " + self._client(scope).encode()
            wait = self.buckets.take(client, self.rate.cost(path))
            if wait:
                seconds = max(1, math.ceil(wait))
                whose = "token" if digest else "address"
                message = (
                    f"too many requests: over {self.rate.text} (burst {self.rate.burst:g}) for this {whose}; "
                    f"retry in {seconds} s"
                )
                return digest, ("rate_limited", 429, message, [(b"retry-after", str(seconds).encode())])
        return digest, None

    def _open(self, path: str) -> bool:
        if path == "/metrics":
            return self.settings.metrics_open
        return path in self.open_paths or path.startswith(self.open_prefixes)

    @staticmethod
    def _client(scope: dict) -> str:
        client = scope.get("client")
        return client[0] if client else "-"

    async def _answer(self, scope: dict, receive: Any, send: Any, exchange: _Exchange) -> None:
        """The endpoint's answer, counted in flight, or 504 if it has not begun within the time limit."""
        task = asyncio.current_task()

        def expire() -> None:
            if not exchange.started:
                exchange.expired = True
                task.cancel()

        self.in_flight += 1
        if self._count_in_flight:
            self.metrics.in_flight.inc()
        exchange.timer = asyncio.get_running_loop().call_later(self.settings.timeout, expire)
        try:
            await self.app(scope, self._receiving(receive, exchange), self._sending(send, exchange))
        except asyncio.CancelledError:
            if not exchange.expired:
                raise
            if hasattr(task, "uncancel"):  # the cancellation was ours, and is over (Python 3.11+ counts them)
                task.uncancel()
            exchange.refused = "timeout"
            message = (
                f"no answer within the time limit of {self.settings.timeout:g} s; the request was dropped: "
                "send fewer or shorter texts, or retry later"
            )
            await self._refuse(send, exchange, 504, message, [])
        finally:
            exchange.timer.cancel()
            self.in_flight -= 1
            if self._count_in_flight:
                self.metrics.in_flight.dec()

    @staticmethod
    def _receiving(receive: Any, exchange: _Exchange) -> Any:
        async def received() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                exchange.body.append(message.get("body", b""))
            return message

        return received

    @staticmethod
    def _sending(send: Any, exchange: _Exchange) -> Any:
        async def sent(message: dict) -> None:
            if message["type"] == "http.response.start":
                exchange.started = True  # before the await: a time limit falling now must not cancel the answer
                exchange.status = message["status"]
                if exchange.timer is not None:
                    exchange.timer.cancel()
            await send(message)

        return sent

    async def _refuse(self, send: Any, exchange: _Exchange, status: int, message: str, headers: list) -> None:
        body = json.dumps({"error": message}).encode()
        exchange.status = status
        exchange.started = True
        head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": body})

    async def _metrics(self, scope: dict, send: Any, exchange: _Exchange) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await self._refuse(send, exchange, 405, f"{scope['method']} is not allowed on /metrics", [])
            return
        body = self.metrics.exposition()
        exchange.status = 200
        head = [(b"content-type", CONTENT_TYPE.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": head})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    def _note(
        self, scope: dict, path: str, exchange: _Exchange, record: Record, digest: bytes | None, seconds: float
    ) -> None:
        """The request in the metrics and the access log."""
        status = exchange.status or 500  # an app that failed before answering: uvicorn answers 500
        texts = record.texts
        if texts is None and status < 400 and exchange.body:
            texts = texts_of(b"".join(exchange.body))
        count = len(texts) if texts is not None else 0
        # A route's path, or a file of the docs that exists; any other path is one label (scanners add no series).
        endpoint = path if path in self.known or (status != 404 and self._open(path)) else OTHER
        if status == 413:
            exchange.refused = "too_large"
        if exchange.refused is not None:
            self.metrics.rejected(exchange.refused)
        self.metrics.answered(endpoint, status, seconds, count)
        if self.log is None:
            return
        line: dict[str, Any] = {
            "client": self._client(scope),
            "worker": self.worker,
            "method": scope["method"],
            "endpoint": path,
            "status": status,
            "texts": count,
            "ms": round(seconds * 1000, 2),
            "batch": record.batch,
        }
        if digest is not None:
            line["token"] = auth.fingerprint(digest)
        if exchange.refused is not None:
            line["refused"] = exchange.refused
        if self.log.texts:
            line["inputs"] = texts if texts is not None else texts_of(b"".join(exchange.body))
        self.log.write(line)

    # ------------------------------------------------------------------------------------------ lifespan
    def _lifespan(self, receive: Any) -> Any:
        async def received() -> dict:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._listen_for_reload()
            elif message["type"] == "lifespan.shutdown":
                self.close()
            return message

        return received

    def _listen_for_reload(self) -> None:
        """SIGHUP re-reads the token file (in the process that serves: each worker of ``--workers N``, to which
        ``serve``'s supervisor passes the signal on)."""
        if threading.current_thread() is threading.main_thread():  # a server run in a thread (tests) has no signals
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.reload)

    def reload(self) -> None:
        line = "SIGHUP: no token file to re-read" if self.tokens is None else f"SIGHUP: {self.tokens.reload()}"
        sys.stderr.write(f"rnnkit serve (worker {self.worker}): {line}\n")
        sys.stderr.flush()

    def close(self) -> None:
        if threading.current_thread() is threading.main_thread():
            with contextlib.suppress(RuntimeError):  # no running loop
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        self.metrics.close()
        if self.buckets is not None:
            self.buckets.close()
        if self.log is not None:
            self.log.close()


def describe(settings: GateSettings, tokens: auth.Tokens | None, workers: int = 1) -> str:
    """The line ``serve`` prints on start about its gate."""
    if tokens is None:
        parts = ["no token asked"]
    else:
        reread = "SIGHUP re-reads it" if tokens.path else "fixed until restart"
        parts = [f"{len(tokens.digests)} tokens from {tokens.source} ({reread})"]
    if settings.rate:
        rate = parse_rate(settings.rate, settings.burst)
        parts.append(f"{rate.text} per {'token' if tokens else 'address'}, burst {rate.burst:g}")
    each = " per worker" if workers > 1 else ""
    parts.append(f"at most {settings.max_inflight} requests in flight{each}, {settings.timeout:g} s each")
    parts.append("/metrics open" if settings.metrics_open or tokens is None else "/metrics needs a token")
    log = {None: "no access log", "-": "access log on standard error"}.get(settings.access_log)
    parts.append(log or f"access log in {settings.access_log}")
    return "; ".join(parts)
