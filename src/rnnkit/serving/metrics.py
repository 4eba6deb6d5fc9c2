"""``GET /metrics``: the service's figures in the Prometheus text format, with ``prometheus-client``.

Every series carries the model's ``task`` and ``version`` (the first 12 hex digits of the SHA-256 of the files that
make the model: ``config.json``, ``vocab.json`` and ``model.safetensors``, or the exported ``.onnx`` file), so that a
dashboard tells two models apart and sees when one was replaced; ``rnnkit_model_info`` adds its name, the engine
and the versions of rnnkit that trained and serve it.

With ``--workers N`` the figures are the service's, not one worker's: every worker writes its figures to files in
one directory (prometheus-client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``, which ``serve`` makes and
removes), and whichever worker answers ``/metrics`` adds them all up: counters and histograms summed, requests in
flight summed over the live workers.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # what every Prometheus server reads
MODEL_FILES = ("config.json", "vocab.json", "model.safetensors")
LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
REASONS = ("unauthorized", "rate_limited", "overloaded", "timeout", "too_large")


def model_version(source: str | Path) -> str:
    """The first 12 hex digits of the SHA-256 of the model's files (a directory's three, or the exported file)."""
    source = Path(source)
    paths = [source / name for name in MODEL_FILES] if source.is_dir() else [source]
    digest = hashlib.sha256()
    for path in paths:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


class Metrics:
    """The service's Prometheus metrics; in one process kept in this object's own registry, with several workers in
    the directory of ``PROMETHEUS_MULTIPROC_DIR``."""

    def __init__(self, served: Any) -> None:
        from rnnkit import __version__

        disable_created_metrics()  # no ``*_created`` series: they would double what a scraper stores, and tell nothing
        self.directory = os.environ.get(MULTIPROCESS)
        registry = None if self.directory else CollectorRegistry()
        self.registry = registry
        self.model = {"task": served.task, "version": model_version(served.source)}
        model = list(self.model)
        self._requests = Counter(
            "rnnkit_requests",
            "Requests answered, by endpoint and status.",
            [*model, "endpoint", "status"],
            registry=registry,
        )
        self._latency = Histogram(
            "rnnkit_request_duration_seconds",
            "Time from a request's arrival to the end of its answer.",
            [*model, "endpoint"],
            buckets=LATENCY,
            registry=registry,
        )
        self._texts = Counter(
            "rnnkit_texts", "Texts the model read, by endpoint.", [*model, "endpoint"], registry=registry
        )
        self._batch = Histogram(
            "rnnkit_model_call_texts",
            "Texts per model call: the batcher's work.",
            model,
            buckets=BATCH,
            registry=registry,
        ).labels(**self.model)
        self.in_flight = Gauge(
            "rnnkit_requests_in_flight",
            "Requests being answered now (/health and /metrics aside).",
            model,
            multiprocess_mode="livesum",
            registry=registry,
        ).labels(**self.model)
        rejections = Counter(
            "rnnkit_rejections",
            "Requests refused before their endpoint ran, by reason.",
            [*model, "reason"],
            registry=registry,
        )
        self._rejections = {reason: rejections.labels(**self.model, reason=reason) for reason in REASONS}
        info = Gauge(
            "rnnkit_model_info",
            "The model served (always 1).",
            [*model, "model", "engine", "trained_with", "rnnkit"],
            multiprocess_mode="max",
            registry=registry,
        )
        trained_with = str(served.info.get("trained_with") or "")
        name = Path(served.source).name
        info.labels(
            **self.model,
            model=name,
            engine=served.info.get("engine", ""),
            trained_with=trained_with,
            rnnkit=__version__,
        ).set(1)
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._texts_of: dict[str, Any] = {}

    def answered(self, endpoint: str, status: int, seconds: float, texts: int) -> None:
        """One request's answer: counted by endpoint and status, its time, the texts the model read."""
        children = self._children.get((endpoint, status))
        if children is None:
            children = (
                self._requests.labels(**self.model, endpoint=endpoint, status=str(status)),
                self._latency.labels(**self.model, endpoint=endpoint),
            )
            self._children[(endpoint, status)] = children
        requests, latency = children
        requests.inc()
        latency.observe(seconds)
        if texts:
            counted = self._texts_of.get(endpoint)
            if counted is None:
                counted = self._texts_of[endpoint] = self._texts.labels(**self.model, endpoint=endpoint)
            counted.inc(texts)

    def read_in_flight(self, count: Any) -> bool:
        """Has ``rnnkit_requests_in_flight`` read ``count()`` when scraped (one process: nothing to do per request),
        or returns False (several workers: each request must ``inc`` and ``dec`` it, in its worker's file)."""
        if self.directory is not None:
            return False
        self.in_flight.set_function(count)
        return True

    def rejected(self, reason: str) -> None:
        self._rejections[reason].inc()

    def model_call(self, texts: int) -> None:
        """One call of the model, over ``texts`` texts (the batcher reports each)."""
        self._batch.observe(texts)

    def exposition(self) -> bytes:
        """The text that ``GET /metrics`` answers: this process's figures, or every worker's added up."""
        if self.directory is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, self.directory)
        return generate_latest(registry)

    def close(self) -> None:
        """A worker that stops takes its requests in flight out of the sum (its counters stay in the totals)."""
        if self.directory is not None:
            mark_process_dead(os.getpid(), self.directory)
