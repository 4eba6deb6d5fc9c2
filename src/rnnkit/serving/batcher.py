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

from rnnkit.serving.record import note_model_work


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
    batch: int = 0  # items of the largest model call that answered some of them
    results: list[Any] = field(default_factory=list)  # gathered so far (a request cut across calls)


class Batcher:
    """Runs ``run(items) -> results`` (one result per item, in order) over the items of concurrent requests.

    ``max_batch`` bounds the items of one call; a request with more is cut into calls of ``max_batch`` (with
    ``max_batch=1`` every text is a call of its own: batching off). ``observe``, if given, hears the size of each
    call. A request given up while it waits (its client gone, its time limit past) is dropped from the queue: the
    model never reads its remaining items.
    """

    def __init__(
        self,
        run: Callable[[list[Any]], Sequence[Any]],
        max_batch: int = 256,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.run = run
        self.max_batch = max_batch
        self.observe = observe
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
        results = await waiting.future
        note_model_work(waiting.items, waiting.batch)  # for this request's metrics and log line
        return results

    def close(self) -> None:
        self._thread.shutdown(wait=True)

    def _next_batch(self) -> list[tuple[_Waiting, int, int]]:
        """Pieces ``(request, start, stop)`` of queued requests, up to ``max_batch`` items in all."""
        pieces, size = [], 0
        while self._queue and size < self.max_batch:
            waiting = self._queue[0]
            if waiting.future.done():  # given up (cancelled) while it waited
                self._queue.popleft()
                continue
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
        try:
            while self._queue:
                pieces = self._next_batch()
                if not pieces:  # every request left had been given up
                    continue
                items = [item for waiting, start, stop in pieces for item in waiting.items[start:stop]]
                try:
                    results = list(await loop.run_in_executor(self._thread, self.run, items))
                except Exception as error:  # handed to each request of the batch, which answers with it
                    failed = {id(waiting) for waiting, _, _ in pieces}
                    self._queue = deque(w for w in self._queue if id(w) not in failed)
                    for waiting, _, _ in pieces:
                        if not waiting.future.done():
                            waiting.future.set_exception(error)
                    continue
                self.stats.calls += 1
                self.stats.texts += len(items)
                if self.observe is not None:
                    self.observe(len(items))
                offset = 0
                for waiting, start, stop in pieces:
                    waiting.batch = max(waiting.batch, len(items))
                    waiting.results += results[offset : offset + stop - start]
                    offset += stop - start
                    if stop == len(waiting.items):
                        self.stats.requests += 1
                        if not waiting.future.done():  # a client that went away leaves a cancelled future
                            waiting.future.set_result(waiting.results)
        finally:
            self._busy = False
