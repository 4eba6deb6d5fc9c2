"""Per-client rate limits: a token bucket for each client (its token, or its address where no token is asked).

A bucket holds up to ``burst`` requests' worth and refills at ``rate`` per second; a request takes its cost from its
client's bucket, or is refused with the seconds until the bucket would hold enough (``Retry-After``). Requests cost
what they make the machine do, measured against a one-text ``POST /predict`` (:func:`costs`); a cost above the burst
takes the whole burst, so that every request can pass once the bucket is full.

The buckets live in a table of fixed size in shared memory (:class:`Buckets`): one process keeps it in anonymous
memory, the workers of ``--workers N`` map one file and take a lock on it around each request, so that a client's
rate is the service's, whichever worker its connections reach. The table holds :data:`SLOTS` buckets; a client
whose bucket has filled up again needs none (a full bucket is the same as a new one), so the table only runs out
when more clients than that are all being limited at once, and then the fullest bucket is given to the newcomer.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import os
import re
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rnnkit.errors import RnnkitError

# The cost of a request to an endpoint every model has, in one-text /predict requests (a task's own endpoints cost
# what its Task.costs says; any other, 1): the server's CPU time per request, measured by benchmarks/serve_costs.py
# and rounded. An /inspect took 70 (a classifier, a news text) to 200 times a one-text prediction (a language model
# of two layers of 512, 200 characters): torch, the trace and integrated gradients. RESULTS.md ("What each endpoint
# costs") has the figures.
COSTS = {"/inspect": 200}
UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0, "hour": 3600.0}
SLOTS = 16_384
PROBES = 8  # slots a client's bucket may sit in (open addressing): a lookup reads at most this many
SLOT = struct.Struct("=Qdd")  # the key's hash (0: empty), tokens, when they were counted (time.monotonic)


@dataclass(frozen=True)
class Rate:
    """``per_second`` requests a second on average, up to ``burst`` at once; ``text`` as the operator wrote it."""

    per_second: float
    burst: float
    text: str

    def cost(self, endpoint: str) -> float:
        return min(float(costs().get(endpoint, 1)), self.burst)


def costs() -> dict[str, float]:
    """What a request to each endpoint costs, in one-text ``/predict`` requests: :data:`COSTS` and every registered
    task's own (:attr:`rnnkit.tasks.Task.costs`)."""
    from rnnkit import tasks

    found: dict[str, float] = {}
    for task in tasks.registered().values():
        found.update(task.costs)
    return {**found, **COSTS}


def parse_rate(text: str, burst: str | int | None = None) -> Rate:
    """``20/s``, ``600/m`` or ``3600/h`` (also ``/sec``, ``/min``, ``/hour``); the burst defaults to two seconds'
    worth (at least one request)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*/\s*([a-z]+)\s*", text.lower())
    if not match or match.group(2) not in UNITS or float(match.group(1)) <= 0:
        raise RnnkitError(f"a rate looks like 20/s, 600/m or 3600/h (requests a second, minute or hour); got {text!r}")
    per_second = float(match.group(1)) / UNITS[match.group(2)]
    if burst is None:
        return Rate(per_second, max(1.0, math.floor(2 * per_second)), text.strip())
    try:
        value = float(burst)
    except ValueError:
        value = 0.0
    if not value >= 1 or not math.isfinite(value):
        raise RnnkitError(f"the burst is the requests a client may send at once: at least 1; got {burst!r}")
    return Rate(per_second, value, text.strip())


class Buckets:
    """The token buckets of every client, in shared memory: anonymous (one process), or the file ``path`` made by
    :meth:`create` and mapped by every worker (then each :meth:`take` holds an exclusive ``flock`` on it)."""

    def __init__(self, rate: Rate, path: str | None = None) -> None:
        self.rate = rate
        self._fd: int | None = None
        if path is None:
            self._map = mmap.mmap(-1, SLOTS * SLOT.size)
        else:
            self._fd = os.open(path, os.O_RDWR)
            self._map = mmap.mmap(self._fd, SLOTS * SLOT.size)

    @staticmethod
    def create(path: str) -> None:
        """The file that the workers' buckets share: zeroed (every slot empty), readable by its owner only."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, SLOTS * SLOT.size)
        finally:
            os.close(fd)

    def close(self) -> None:
        self._map.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if self._fd is None:  # one process, one event loop: nothing runs between the read and the write
            yield
            return
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def take(self, client: bytes, cost: float, now: float | None = None) -> float:
        """Takes ``cost`` from ``client``'s bucket: 0.0 if it held enough, else the seconds until it will (nothing
        is taken then)."""
        now = time.monotonic() if now is None else now
        key = int.from_bytes(hashlib.blake2b(client, digest_size=8).digest(), "little") or 1
        with self._locked():
            offset, tokens = self._find(key, now)
            if tokens >= cost:
                SLOT.pack_into(self._map, offset, key, tokens - cost, now)
                return 0.0
            SLOT.pack_into(self._map, offset, key, tokens, now)
            return (cost - tokens) / self.rate.per_second

    def _find(self, key: int, now: float) -> tuple[int, float]:
        """The offset of ``key``'s slot and the tokens its bucket holds now; a new bucket (full) in the first free
        slot of its probes, or, if none is free, in the fullest."""
        rate, burst = self.rate.per_second, self.rate.burst
        first = key % SLOTS
        free, fullest, most = None, 0, -1.0
        for probe in range(PROBES):
            offset = ((first + probe) % SLOTS) * SLOT.size
            held, tokens, counted = SLOT.unpack_from(self._map, offset)
            if held == key:
                return offset, min(burst, tokens + (now - counted) * rate)
            refilled = burst if held == 0 else min(burst, tokens + (now - counted) * rate)
            if refilled >= burst and free is None:
                free = offset
            if refilled > most:
                fullest, most = offset, refilled
        return (fullest if free is None else free), burst
