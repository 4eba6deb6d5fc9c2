"""The HTTP service: what every model serves (``POST /inspect``, the token-by-token page; ``GET /health``,
``GET /model``, and the web page at ``/``), its task's own endpoints (mounted by the task's package:
``POST /predict`` for classifiers and taggers, ``POST /generate`` for language models, streamed ...), and around them
the :mod:`~rnnkit.serving.gate` (tokens, rate limits, requests in flight, time limit, ``GET /metrics``, access log).

Every answer that is not a success is JSON ``{"error": "<one line>"}`` with a 4xx status (5xx only for a fault of
the service itself), never a traceback. Model work never runs on the event loop: a task's batched endpoints go
through a :class:`~rnnkit.serving.batcher.Batcher`'s thread (:meth:`Service.batcher`), streams and inspection through
worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from rnnkit import tasks
from rnnkit.errors import RnnkitError
from rnnkit.serving.batcher import Batcher, BatchStats
from rnnkit.serving.gate import Gate, GateSettings
from rnnkit.serving.limits import BodyLimit, Limits
from rnnkit.serving.model import InspectUnavailable, ServedModel, check_texts
from rnnkit.serving.page import page_html


class Service:
    """What a task's endpoints share with the rest of the service (:meth:`rnnkit.tasks.Task.mount`): the model
    served, the request limits, batchers of concurrent requests (closed when the service stops, counted in
    ``/health``), and the checks and answers every endpoint makes alike."""

    def __init__(self, served: ServedModel, limits: Limits, max_batch: int, gate: Gate) -> None:
        self.served, self.limits, self.max_batch, self.gate = served, limits, max_batch, gate
        self.batchers: list[Batcher] = []

    def batcher(self, run: Any) -> Batcher:
        """A batcher of concurrent requests' texts into calls of ``run(texts) -> answers``, in one worker thread."""
        batcher = Batcher(run, self.max_batch, observe=self.gate.metrics.model_call)
        self.batchers.append(batcher)
        return batcher

    def texts(self, texts: Any) -> list[str]:
        """A request's texts, checked against the limits (a one-line error naming the first problem)."""
        return check_texts(texts, self.limits.max_texts, self.limits.max_chars)

    def stats(self) -> dict[str, Any]:
        """What the batchers have done so far, together."""
        done = [b.stats for b in self.batchers]
        total = BatchStats(sum(s.calls for s in done), sum(s.requests for s in done), sum(s.texts for s in done))
        return {"max_batch": self.max_batch, **total.to_dict()}

    def close(self) -> None:
        for batcher in self.batchers:
            batcher.close()

    @staticmethod
    def json(data: Any) -> Response:
        """An answer serialised at once: FastAPI's generic encoder walks every float, a measurable share of a
        request."""
        return Response(json.dumps(data), media_type="application/json")


class InspectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="The text to read token by token.")


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _validation_message(exc: RequestValidationError) -> tuple[int, str]:
    """The status and one line for what the body got wrong (each distinct problem, at most three)."""
    problems = exc.errors()
    if problems and problems[0].get("type") == "json_invalid":
        first = problems[0]
        return 400, f"the body is not valid JSON: {first.get('ctx', {}).get('error', first.get('msg'))}"
    lines = []
    for problem in problems:
        where = ".".join(str(part) for part in problem.get("loc", ())[1:]) or "the body"
        kind = problem.get("type")
        if kind == "model_attributes_type":
            line = "the body must be a JSON object"
        elif kind == "missing":
            line = f"{where} is missing"
        elif kind == "extra_forbidden":
            line = f"{where} is not a field of this request"
        else:
            line = f"{where}: {problem.get('msg', 'invalid')}"
        if line not in lines:
            lines.append(line)
    return 422, "; ".join(lines[:3])


def create_app(
    served: ServedModel, limits: Limits | None = None, max_batch: int = 256, gate: Gate | None = None
) -> Any:
    """The ASGI application serving ``served`` (wrapped in the body-size guard, and that in the gate: by default
    one that asks no token and sets no rate): the routes every model has, and its task's."""
    limits = limits or Limits()
    gate = gate or Gate(GateSettings(), served)
    service = Service(served, limits, max_batch, gate)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()  # after the requests in flight have their answers

    app = FastAPIOffline(  # FastAPI whose /docs page is served from the package, not from a CDN
        lifespan=lifespan,
        title="rnnkit",
        summary=f"{served.title} from {served.source}",
        description='Recurrent neural networks for text, served. Errors are JSON: {"error": "one line"}.',
    )
    errors(app, served)
    task = tasks.get(served.task)
    task.mount(app, service)
    common_routes(app, service)
    return gate.wrap(BodyLimit(app, limits.max_body_bytes), app)


def errors(app: FastAPI, served: ServedModel) -> None:
    """Every answer that is not a success as one JSON line; an endpoint of another task's models named."""
    serves = served.endpoints

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(*_validation_message(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404 and exc.detail == "Not Found":
            other = [t for t in tasks.registered().values() if request.url.path in t.endpoints()]
            if other and request.method == "POST":
                return error(404, f"this model is {served.title}: it serves POST {' and POST '.join(serves)}")
            posts = ", ".join(f"POST {endpoint}" for endpoint in (*serves, "/inspect"))
            routes = f"GET /, GET /health, GET /model, GET /metrics, GET /docs, {posts}"
            return error(404, f"no such endpoint: {request.method} {request.url.path}; this service has {routes}")
        if exc.status_code == 405:
            return error(405, f"{request.method} is not allowed on {request.url.path}")
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(RnnkitError)
    async def bad_input(request: Request, exc: RnnkitError) -> JSONResponse:
        return error(422, str(exc))

    @app.exception_handler(Exception)
    async def fault(request: Request, exc: Exception) -> JSONResponse:
        return error(500, f"the service failed on this request ({type(exc).__name__}); see the server's log")


def common_routes(app: FastAPI, service: Service) -> None:
    """The page, ``/health``, ``/model`` and ``/inspect``: what every model serves."""
    served, limits = service.served, service.limits

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(page_html())

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Alive, and what the batcher has done so far."""
        return {"status": "ok", "task": served.task, "batching": service.stats()}

    @app.get("/model")
    async def model() -> dict[str, Any]:
        """The task, labels, configuration, versions and training figures of the model served, and the limits."""
        return {**served.describe(), "limits": limits.to_dict()}

    @app.post("/inspect", response_class=HTMLResponse)
    async def inspect(request: InspectRequest) -> HTMLResponse:
        """The token-by-token page of ``rnnkit inspect`` for one text (needs torch: loaded on first use)."""
        if not request.text.strip():
            raise RnnkitError("text is empty: give it some text")
        if len(request.text) > limits.max_chars:
            raise RnnkitError(f"text has {len(request.text)} characters; at most {limits.max_chars}")
        try:
            return HTMLResponse(await asyncio.to_thread(served.inspect, request.text))
        except InspectUnavailable as e:
            return error(501, str(e))
