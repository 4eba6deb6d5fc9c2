"""``--workers N``: uvicorn's worker processes, under a supervisor that passes SIGHUP on to each of them, and the
state they share.

uvicorn's own supervisor answers SIGHUP by replacing every worker (each loading the model again, and closing its
kept-alive connections); this one sends the signal on instead, so that each worker re-reads the token file where it
stands, in the middle of its requests (:meth:`rnnkit.serving.gate.Gate.reload`). What the workers share lives in a
private temporary directory, made before they start and removed when the service stops: the file of the rate
buckets (:class:`~rnnkit.serving.ratelimit.Buckets`) and prometheus-client's multiprocess directory, named to the
workers in ``PROMETHEUS_MULTIPROC_DIR`` (replacing any such directory in the environment: its figures would mix
with another run's).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator

import uvicorn
from prometheus_client.multiprocess import mark_process_dead
from uvicorn.supervisors import Multiprocess

from rnnkit.serving.gate import GateSettings
from rnnkit.serving.metrics import MULTIPROCESS
from rnnkit.serving.ratelimit import Buckets


@contextlib.contextmanager
def shared(settings: GateSettings) -> Iterator[GateSettings]:
    """``settings`` with the workers' shared rate buckets, and the metrics' directory in the environment, for as
    long as the block runs."""
    directory = tempfile.mkdtemp(prefix="rnnkit-serve-")  # readable by its owner only
    previous = os.environ.get(MULTIPROCESS)
    try:
        metrics = os.path.join(directory, "metrics")
        os.mkdir(metrics)
        os.environ[MULTIPROCESS] = metrics
        buckets = None
        if settings.rate is not None:
            buckets = os.path.join(directory, "buckets")
            Buckets.create(buckets)
        yield dataclasses.replace(settings, buckets_file=buckets)
    finally:
        if previous is None:
            os.environ.pop(MULTIPROCESS, None)
        else:
            os.environ[MULTIPROCESS] = previous
        shutil.rmtree(directory, ignore_errors=True)


class Supervisor(Multiprocess):
    """uvicorn's supervisor of worker processes, which passes SIGHUP on to the workers instead of replacing them,
    and takes a worker that died out of the metrics' requests in flight."""

    def handle_hup(self) -> None:
        for process in self.processes:
            if process.pid is not None and process.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGHUP)

    def keep_subprocess_alive(self) -> None:
        before = {process.pid for process in self.processes}
        super().keep_subprocess_alive()
        directory = os.environ.get(MULTIPROCESS)
        for pid in before - {process.pid for process in self.processes}:
            if pid is not None and directory:
                mark_process_dead(pid, directory)


def run(config: uvicorn.Config) -> None:
    """Serves ``config`` (whose app is an import string) with ``config.workers`` processes until SIGINT or SIGTERM."""
    Supervisor(config, sockets=[config.bind_socket()]).run()
