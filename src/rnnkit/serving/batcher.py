"""Requests that arrive together are answered by one call of the model.

Each request's texts wait in a queue. Whenever the model is free, everything queued (up to ``max_batch`` texts) goes
into one call, run in a worker thread so that the event loop keeps accepting requests meanwhile; whatever arrives
during that call forms the next batch. A lone request therefore never waits for company: it is run the moment it
arrives at an idle model. Under load, batches grow by themselves, and one call over many texts costs far less than
one call per text (the network reads a padded batch in a few matrix products).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BatchStats:
    """What the batcher has done: model calls, requests and texts answered (the mean batch is texts / calls)."""

    calls: int = 0
    requests: int = 0
    texts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "requests": self.requests,
            "texts": self.texts,
            "mean_batch": round(self.texts / self.calls, 3) if self.calls else 0.0,
        }


@dataclass
class _Waiting:
    items: Sequence[Any]
    future: asyncio.Future = field(repr=False)
    done: int = 0  # items already sent to the model (a request larger than one batch goes in pieces)


class Batcher:
    """Runs ``run(items) -> results`` (one result per item, in order) over the items of concurrent requests.

    ``max_batch`` bounds the items of one call; a request with more is cut into calls of ``max_batch`` (with
    ``max_batch=1`` every text is a call of its own: batching off).
    """

    def __init__(self, run: Callable[[list[Any]], Sequence[Any]], max_batch: int = 256) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.run = run
        self.max_batch = max_batch
        self.stats = BatchStats()
        self._queue: deque[_Waiting] = deque()
        self._busy = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnnkit-model")

    async def __call__(self, items: Sequence[Any]) -> list[Any]:
        """The results of ``items``, computed in batches with other requests' items."""
        if not items:
            return []
        loop = asyncio.get_running_loop()
        waiting = _Waiting(list(items), loop.create_future())
        self._queue.append(waiting)
        if not self._busy:
            self._busy = True
            loop.create_task(self._drain())
        return await waiting.future

    def close(self) -> None:
        self._thread.shutdown(wait=True)

    def _next_batch(self) -> list[tuple[_Waiting, int, int]]:
        """Pieces ``(request, start, stop)`` of queued requests, up to ``max_batch`` items in all."""
        pieces, size = [], 0
        while self._queue and size < self.max_batch:
            waiting = self._queue[0]
            done = waiting.done
            take = min(len(waiting.items) - done, self.max_batch - size)
            pieces.append((waiting, done, done + take))
            size += take
            if done + take == len(waiting.items):
                self._queue.popleft()
            else:
                waiting.done = done + take  # the rest of a large request goes in the next call
        return pieces

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        partial: dict[int, list[Any]] = {}  # results gathered so far of requests cut across calls
        try:
            while self._queue:
                pieces = self._next_batch()
                items = [item for waiting, start, stop in pieces for item in waiting.items[start:stop]]
                try:
                    results = list(await loop.run_in_executor(self._thread, self.run, items))
                except Exception as error:  # handed to each request of the batch, which answers with it
                    failed = {id(waiting) for waiting, _, _ in pieces}
                    self._queue = deque(w for w in self._queue if id(w) not in failed)
                    for waiting, _, _ in pieces:
                        partial.pop(id(waiting), None)
                        if not waiting.future.done():
                            waiting.future.set_exception(error)
                    continue
                self.stats.calls += 1
                self.stats.texts += len(items)
                offset = 0
                for waiting, start, stop in pieces:
                    got = partial.setdefault(id(waiting), [])
                    got += results[offset : offset + stop - start]
                    offset += stop - start
                    if stop == len(waiting.items):
                        partial.pop(id(waiting))
                        self.stats.requests += 1
                        if not waiting.future.done():  # a client that went away leaves a cancelled future
                            waiting.future.set_result(got)
        finally:
            self._busy = False
