"""A language model behind ``rnnkit serve``: ``POST /generate`` streams the text after a prompt, piece by piece as
it is drawn, from a worker thread."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import iterate_in_threadpool

from rnnkit.errors import RnnkitError


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = Field("", description="The text to continue; empty: start at the beginning of a line.")
    length: int | None = Field(None, ge=1, description="Tokens to write (characters or words) [200, or the limit].")
    temperature: float = Field(1.0, gt=0, description="Below 1 safer, above 1 wilder.")
    top_k: int | None = Field(None, ge=1, description="Draw from the K likeliest tokens only.")
    top_p: float | None = Field(None, gt=0, le=1, description="Draw from the fewest tokens holding this share.")
    seed: int | None = Field(None, description="The same seed writes the same text.")


def pieces(model: Any, prompt: str, **sampling: Any) -> Iterator[str]:
    """The text after ``prompt``, piece by piece; the prompt and the sampling settings are checked before the first
    piece (in the API's field names, not the command line's)."""
    from rnnkit.tasks.lm.sampling import check_sampling

    try:
        check_sampling(sampling["temperature"], sampling["top_k"], sampling["top_p"], sampling["length"])
    except RnnkitError as e:
        message = str(e).replace("--top-k", "top_k").replace("--top-p", "top_p").replace("--", "")
        raise RnnkitError(message) from None
    model.encode_prompt(prompt)  # a character the model never saw: refused before anything is sent
    return model.stream(prompt, **sampling)


def mount(app: Any, service: Any) -> None:
    """``POST /generate`` on the service's app."""
    model, limits = service.served.model, service.limits

    @app.post("/generate")
    async def generate(request: GenerateRequest) -> StreamingResponse:
        """The text after the prompt, streamed piece by piece as it is drawn (plain UTF-8 text)."""
        length = min(200, limits.max_length) if request.length is None else request.length
        if length > limits.max_length:
            raise RnnkitError(f"length must be at most {limits.max_length}, got {length}")
        if len(request.prompt) > limits.max_chars:
            raise RnnkitError(f"the prompt has {len(request.prompt)} characters; at most {limits.max_chars}")
        sampling = {**request.model_dump(exclude={"prompt"}), "length": length}
        stream = await asyncio.to_thread(pieces, model, request.prompt, **sampling)  # checks the prompt first
        return StreamingResponse(
            iterate_in_threadpool(stream),
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
