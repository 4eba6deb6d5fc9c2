"""What one request did, noted as it goes, for its metrics and its line in the access log.

The gate (:mod:`~rnnkit.serving.gate`) opens a :class:`Record` for each request and makes it the current one (a
context variable, so that whatever the endpoint awaits sees it without being handed it); the batcher notes the
texts it ran for the request and the size of the model call that answered them. An endpoint that does not go through
the batcher needs to note nothing: its texts are read from its body when the answer has gone out
(:func:`texts_of`).
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass
class Record:
    """The figures of one request that only its endpoint's work can tell."""

    texts: list[str] | None = None  # the texts the model read (None: not noted; the body tells)
    batch: int | None = None  # texts in the model call that answered them (the largest, if several did)


CURRENT: ContextVar[Record | None] = ContextVar("rnnkit_request", default=None)


def note_model_work(texts: list[str], batch: int) -> None:
    """Notes on the current request (if any) the texts the model read for it and the batch that answered them."""
    record = CURRENT.get()
    if record is not None:
        record.texts = texts
        record.batch = batch if record.batch is None else max(record.batch, batch)


def texts_of(body: bytes) -> list[str]:
    """The texts a request's JSON body carries: its ``texts``, or its ``text`` or ``prompt`` (the field names of
    every endpoint that reads text); none for a body that is not such JSON."""
    try:
        content: Any = json.loads(body) if body else None
    except ValueError:
        return []
    if not isinstance(content, dict):
        return []
    texts = content.get("texts")
    if isinstance(texts, list):
        return [t for t in texts if isinstance(t, str)]
    return [content[key] for key in ("text", "prompt") if isinstance(content.get(key), str)][:1]
