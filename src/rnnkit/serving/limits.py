"""What one request may ask, and the guard that answers a body over the limit with 413 before it is read whole."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DRAIN_FACTOR = 16  # a body over the limit is read on (and dropped) up to this many limits, so the client hears 413


@dataclass(frozen=True)
class Limits:
    """The bounds of one request; each has its own clear 4xx answer."""

    max_body_bytes: int = 1_000_000
    max_texts: int = 256
    max_chars: int = 20_000  # characters per text
    max_length: int = 2_000  # tokens one generation may write

    def to_dict(self) -> dict[str, int]:
        return {
            "max_body_bytes": self.max_body_bytes,
            "max_texts": self.max_texts,
            "max_chars": self.max_chars,
            "max_length": self.max_length,
        }


async def send_json(send: Any, status: int, content: dict[str, Any], close: bool = False) -> None:
    """A whole JSON response on the raw ASGI ``send``."""
    body = json.dumps(content).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets ``413`` with a JSON answer, never a reset; a body
    sent without a JSON ``Content-Type`` (``curl -d``) is read as the JSON it must be.

    The declared ``Content-Length`` is checked first; a body sent in chunks is counted as it streams. What is read
    is held only up to the limit: past it the rest is read and dropped (so that the client, still sending, then
    reads the answer instead of a reset connection), up to ``DRAIN_FACTOR`` times the limit, after which the
    connection is closed.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if b"json" not in headers.get(b"content-type", b""):  # every body here is JSON, whatever the client said
            others = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope = {**scope, "headers": [*others, (b"content-type", b"application/json")]}
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(receive, send, int(declared))
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > self.max_bytes:
                await self._refuse(receive, send, size, drained=not more)
                return
            chunks.append(chunk)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, receive: Any, send: Any, size: int, drained: bool = False) -> None:
        read = 0
        while not drained and read <= DRAIN_FACTOR * self.max_bytes:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            read += len(message.get("body", b""))
            drained = not message.get("more_body", False)
        message = f"the request body is over {self.max_bytes} bytes; send less (fewer or shorter texts)"
        await send_json(send, 413, {"error": message}, close=not drained)
