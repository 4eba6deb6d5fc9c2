"""A translator behind ``rnnkit serve``: ``POST /translate`` answers each text with its translation (or its n best,
with their scores); concurrent requests that search as the model does by default are batched into one call."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rnnkit.errors import RnnkitError

MAX_BEAM = 16  # a request's beam at most: the work of a translation grows with it


class TranslateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[Any] = Field(description="The sentences to translate, one string each.")
    beam: int | None = Field(None, ge=1, le=MAX_BEAM, description="Beam width (1: greedy) [the model's, 5].")
    n_best: int = Field(1, ge=1, le=MAX_BEAM, description="Translations per text, best first, with their scores.")


def best(model: Any, texts: list[str], beam: int, n_best: int) -> list[Any]:
    """Each text's translation, or its ``n_best`` translations with their scores."""
    found = model.translate(texts, beam, n_best)
    if n_best == 1:
        return found
    return [[{"translation": t.text, "score": round(t.score, 4)} for t in options] for options in found]


def mount(app: Any, service: Any) -> None:
    """``POST /translate`` on the service's app."""
    model = service.served.model
    default_beam = model.decoding.beam
    batcher = service.batcher(lambda texts: best(model, texts, default_beam, 1))

    @app.post("/translate")
    async def translate(request: TranslateRequest) -> Any:
        """Each text's translation, in order (``translations``: strings; with ``n_best`` > 1, lists of
        ``{translation, score}``)."""
        texts = service.texts(request.texts)
        beam = default_beam if request.beam is None else request.beam
        if request.n_best > beam:
            raise RnnkitError(f"n_best must be at most the beam ({beam}): raise beam to at least {request.n_best}")
        if beam == default_beam and request.n_best == 1:
            return service.json({"translations": await batcher(texts)})
        return service.json({"translations": await asyncio.to_thread(best, model, texts, beam, request.n_best)})
