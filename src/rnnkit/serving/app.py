"""The HTTP service: ``POST /predict`` (classifiers, taggers), ``POST /generate`` (language models, streamed),
``POST /inspect`` (the token-by-token page), ``GET /health``, ``GET /model``, and the web page at ``/``; around them
the :mod:`~rnnkit.serving.gate` (tokens, rate limits, requests in flight, time limit, ``GET /metrics``, access log).

Every answer that is not a success is JSON ``{"error": "<one line>"}`` with a 4xx status (5xx only for a fault of
the service itself), never a traceback. Model work never runs on the event loop: prediction goes through the
:class:`~rnnkit.serving.batcher.Batcher`'s thread, generation and inspection through worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import iterate_in_threadpool
from starlette.exceptions import HTTPException

from rnnkit.errors import RnnkitError
from rnnkit.serving.batcher import Batcher
from rnnkit.serving.gate import Gate, GateSettings
from rnnkit.serving.limits import BodyLimit, Limits
from rnnkit.serving.model import ENDPOINTS, InspectUnavailable, ServedModel, check_texts
from rnnkit.serving.page import page_html


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[Any] = Field(description="The texts to label or tag, one string each.")
    top_k: int = Field(1, ge=1, description="A classifier's labels returned per text, the likeliest first.")


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = Field("", description="The text to continue; empty: start at the beginning of a line.")
    length: int | None = Field(None, ge=1, description="Tokens to write (characters or words) [200, or the limit].")
    temperature: float = Field(1.0, gt=0, description="Below 1 safer, above 1 wilder.")
    top_k: int | None = Field(None, ge=1, description="Draw from the K likeliest tokens only.")
    top_p: float | None = Field(None, gt=0, le=1, description="Draw from the fewest tokens holding this share.")
    seed: int | None = Field(None, description="The same seed writes the same text.")


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
    one that asks no token and sets no rate)."""
    limits = limits or Limits()
    gate = gate or Gate(GateSettings(), served)
    ranked = len(served.model.labels) if served.task == "classify" else 1
    batcher = Batcher(lambda texts: served.predict(texts, ranked), max_batch, observe=gate.metrics.model_call)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        batcher.close()  # after the requests in flight have their answers

    app = FastAPIOffline(  # FastAPI whose /docs page is served from the package, not from a CDN
        lifespan=lifespan,
        title="rnnkit",
        summary=f"{served.title} from {served.source}",
        description='Recurrent neural networks for text, served. Errors are JSON: {"error": "one line"}.',
    )
    serves = ENDPOINTS[served.task]

    def only(endpoint: str) -> None:
        if endpoint not in serves:
            raise HTTPException(404, f"this model is {served.title}: it serves POST {' and POST '.join(serves)}")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(*_validation_message(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404 and exc.detail == "Not Found":
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

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(page_html())

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Alive, and what the batcher has done so far."""
        return {"status": "ok", "task": served.task, "batching": {"max_batch": max_batch, **batcher.stats.to_dict()}}

    @app.get("/model")
    async def model() -> dict[str, Any]:
        """The task, labels, configuration, versions and training figures of the model served, and the limits."""
        return {**served.describe(), "limits": limits.to_dict()}

    @app.post("/predict")
    async def predict(request: PredictRequest) -> Response:
        """Each text's labels and probabilities (a classifier: the ``top_k`` likeliest), or its tokens and tags."""
        only("/predict")
        texts = check_texts(request.texts, limits.max_texts, limits.max_chars)
        if served.task == "classify" and request.top_k > ranked:
            raise RnnkitError(f"top_k must be at most {ranked}, the number of labels")
        results = await batcher(texts)
        if served.task == "classify":
            k = request.top_k
            results = [{**r, "labels": r["labels"][:k], "probabilities": r["probabilities"][:k]} for r in results]
        # Serialised here, at once: FastAPI's generic encoder walks every float, a measurable share of a request.
        return Response(json.dumps({"predictions": results}), media_type="application/json")

    @app.post("/generate")
    async def generate(request: GenerateRequest) -> StreamingResponse:
        """The text after the prompt, streamed piece by piece as it is drawn (plain UTF-8 text)."""
        only("/generate")
        length = min(200, limits.max_length) if request.length is None else request.length
        if length > limits.max_length:
            raise RnnkitError(f"length must be at most {limits.max_length}, got {length}")
        if len(request.prompt) > limits.max_chars:
            raise RnnkitError(f"the prompt has {len(request.prompt)} characters; at most {limits.max_chars}")
        sampling = {**request.model_dump(exclude={"prompt"}), "length": length}
        pieces = await asyncio.to_thread(served.generate, request.prompt, **sampling)  # checks the prompt first
        return StreamingResponse(
            iterate_in_threadpool(pieces),
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

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

    return gate.wrap(BodyLimit(app, limits.max_body_bytes), app)
