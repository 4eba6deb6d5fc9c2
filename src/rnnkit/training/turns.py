"""Taking turns on the cores with the other rnnkit trainings on this machine, instead of running side by side.

Why: a training uses one OpenMP thread per core, and a thread that finishes its part of an operation spins, waiting
for the next one (GNU OpenMP: 300,000 turns of a loop). Two trainings started together on a 2-core machine each
have two threads and each other's spinning threads in the way: one classifier's epochs went from 2.5 s alone to 16 s
(up to 80 s in a bad round) with two at once, where a user expects about 2x (``benchmarks/concurrent_training.py``).
The ways out that OpenMP offers cost a run alone: no spinning (``OMP_WAIT_POLICY=PASSIVE``) made it 2.8x slower,
one thread a run 1.3x; and choosing the number of threads from the load would make the weights depend on it (the
sums of a parallel operation depend on the number of threads), breaking the promise that a seed gives the same
weights.

So each training holds the machine's one turn while it computes, and passes it on after a few steps (at least
``TURN_SECONDS``) to whoever waits for it, or takes it straight back when no one does. N trainings at once then each
go at about 1/N of their speed alone (measured: two 2.4x a run alone, three 3.6x, where they had been 9x and 24x);
alone, a pass costs a few system calls every ``TURN_SECONDS``; and the weights are those of a run alone, since
nothing but *when* a step runs changes.

The turn is a ``flock`` on a file in a folder of the user's own: the kernel lets go of it when its process dies, so a
killed run never keeps it. Handing it on fairly takes two: a training waits in the queue (``queue.lock``) before
it may wait for the turn (``cores.lock``), and one that passes the turn must queue again behind whoever waits, so
two trainings alternate. A run that has waited ``patience`` seconds goes on without its turn (the holder may be
stopped, say with Ctrl-Z), and from then on takes the turn only when it is free, until it gets it again.

Only a training that uses every core takes turns: the processes of one ``--nproc`` run (which must step together)
and the members an ensemble trains side by side each use fewer threads and never wait for one another; nor does a
training on a GPU. Off with ``--no-share-cores``. Not on Windows (no ``flock``), where trainings run side by side.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

TURN_SECONDS = 0.2  # a turn's least length: long beside a handover (a millisecond or two of spinning threads)
PATIENCE_SECONDS = 60.0  # the longest wait for a turn before going on without it
POLL_SECONDS = 0.001  # how often a waiting training looks whether the lock is free


def usable_cores() -> int:
    """The cores this process may run on (its affinity), else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def turn_folder() -> Path:
    """A folder of this user's own for the lock files (another user's trainings are not ours to wait for)."""
    user = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    return Path(tempfile.gettempdir()) / f"rnnkit-{user}"


class Turns:
    """The turn on the machine's cores, held while computing. As a context manager: the lock files opened and the
    turn taken on entering, given up on leaving; ``step_done()`` after each step passes it on once held ``turn``
    seconds. Inactive (every call does nothing) when ``active`` is false or the lock files cannot be made."""

    def __init__(
        self,
        active: bool = True,
        folder: Path | None = None,
        turn: float = TURN_SECONDS,
        patience: float = PATIENCE_SECONDS,
    ) -> None:
        self.wanted = active and fcntl is not None
        self.folder, self.turn, self.patience = folder, turn, patience
        self.files: dict[str, Any] = {}
        self.held_since: float | None = None
        self.without = False  # went on without the turn after waiting ``patience``; takes it only when free

    def open(self) -> None:
        """Open (and make, the first time) the lock files; without them, turns are off."""
        if not self.wanted or self.files:
            return
        try:
            folder = self.folder or turn_folder()
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            for name in ("queue", "cores"):
                self.files[name] = open(folder / f"{name}.lock", "a+b")  # noqa: SIM115 (closed in close())
        except OSError:
            self.close()

    @property
    def active(self) -> bool:
        return bool(self.files)

    @property
    def held(self) -> bool:
        return self.held_since is not None

    def _lock(self, name: str, until: float | None) -> bool:
        """Lock ``name``'s file, polling until ``until`` (``None``: try once); whether it was locked."""
        while True:
            try:
                fcntl.flock(self.files[name], fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if until is None or time.monotonic() >= until:
                    return False
                time.sleep(POLL_SECONDS)

    def _unlock(self, name: str) -> None:
        fcntl.flock(self.files[name], fcntl.LOCK_UN)

    def take(self) -> None:
        """Wait for the turn (in the queue first), at most ``patience`` seconds; go on without it after that."""
        if not self.active or self.held:
            return
        until = None if self.without else time.monotonic() + self.patience
        if self._lock("queue", until):
            try:
                got = self._lock("cores", until)
            finally:
                self._unlock("queue")
            if got:
                self.held_since = time.monotonic()
                self.without = False
                return
        self.without = True

    def release(self) -> None:
        """Give the turn up (to whoever waits in the queue)."""
        if self.held:
            self._unlock("cores")
            self.held_since = None

    def step_done(self) -> None:
        """After a step: once the turn has been held ``turn`` seconds, pass it on and queue for the next one (a
        training alone gets it straight back)."""
        if not self.active:
            return
        if self.held and time.monotonic() - self.held_since < self.turn:
            return
        self.release()
        self.take()

    def close(self) -> None:
        """Give the turn up and close the lock files."""
        self.release()
        for file in self.files.values():
            file.close()  # closing the file would let go of its lock too
        self.files = {}

    def __enter__(self) -> Turns:
        self.open()
        self.take()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
