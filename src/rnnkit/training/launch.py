"""``rnnkit.train(..., nproc=N)`` and ``rnnkit train --nproc N``: the same training in N new processes under
``torchrun`` on this machine, reported as one process would report it.

The processes are new and cannot share the caller's objects, so the data and options travel as JSON in
``RNNKIT_TRAIN``. What the user sees is kept to what one process would show:

* a bad option or file is one line: the processes write it to ``RNNKIT_ERROR_FILE`` and exit 2, and the caller
  raises it, instead of one ``error:`` per process followed by torchrun's failure report;
* torchrun runs in a new session, so a Ctrl-C reaches the caller alone, which passes SIGINT or SIGTERM on once:
  torchrun hands it to each process, which stops at the end of its step, process 0 writing a checkpoint (a second
  signal, the terminal's and torchrun's both, would stop them at once, anywhere);
* an unexpected failure in a process (a bug) is one line too, naming a log file that holds its traceback
  (:func:`crash_log`), instead of each process's traceback followed by torchrun's report;
* torchrun's own logs of the shutdown and its failure report are left out (:func:`quiet_torchrun`).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from rnnkit.errors import RnnkitError

SPEC = "RNNKIT_TRAIN"
ERROR_FILE = "RNNKIT_ERROR_FILE"
EXIT_ERROR = 2
EXIT_CRASH = 1


def train_in_processes(nproc: int, data: Any, options: dict[str, Any]) -> None:
    """Train ``data`` with ``options`` (JSON-ready) in ``nproc`` processes; return when they have finished and
    process 0 has saved the model. Raises the processes' one-line :class:`RnnkitError`, or
    :class:`rnnkit.training.trainer.TrainingInterrupted` when a signal stopped them (after their checkpoint)."""
    from rnnkit.training.trainer import TrainingInterrupted

    with tempfile.TemporaryDirectory(prefix="rnnkit-launch-") as scratch:
        error_file = Path(scratch) / "error.txt"
        env = {**os.environ, SPEC: json.dumps({"data": data, "options": options}), ERROR_FILE: str(error_file)}
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))  # torchrun's banner unsaid
        command = [sys.executable, "-m", "rnnkit.training.launch", "--torchrun", f"--nproc-per-node={nproc}"]
        process = subprocess.Popen(command, env=env, start_new_session=True)
        received: list[int] = []

        def pass_on(signum: int, frame: Any) -> None:
            if not received:  # once: a second signal would stop the processes wherever they are
                received.append(signum)
                process.send_signal(signum)

        listening = threading.current_thread() is threading.main_thread()
        previous = {sig: signal.signal(sig, pass_on) for sig in (signal.SIGINT, signal.SIGTERM)} if listening else {}
        try:
            status = process.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        message = error_file.read_text(encoding="utf-8").strip() if error_file.exists() else ""
    if message:
        raise RnnkitError(message)
    if received:
        raise TrainingInterrupted(received[0], "stopped", checkpointed=True)
    if status:
        raise RnnkitError(
            f"training in {nproc} processes failed (exit status {status}) and no process said why; train with "
            "--nproc 1 to see the error"
        )


def report_error(message: str) -> None:
    """Keep the first process's one-line error for the caller (the others have the same one, or a consequence)."""
    path = os.environ.get(ERROR_FILE)
    if path is None:
        print(f"error: {message}", file=sys.stderr)
        return
    try:
        with open(path, "x", encoding="utf-8") as file:  # the first to fail writes; the rest find it there
            file.write(message)
    except FileExistsError:
        pass


def crash_log(run_dir: str | None, rank: str, text: str) -> Path:
    """Write a process's traceback to ``train_error-rank<N>.log`` in the run directory (else the temporary
    directory, where the run directory cannot be written) and return where it went."""
    name = f"train_error-rank{rank}.log"
    for directory in ([Path(run_dir)] if run_dir else []) + [Path(tempfile.gettempdir())]:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / name).write_text(text, encoding="utf-8")
            return directory / name
        except OSError:
            continue
    return Path(name)  # nowhere could hold it: the line names the error all the same


def quiet_torchrun(arguments: list[str]) -> None:
    """torchrun on this machine (``--standalone``: a free port) running :mod:`rnnkit.worker`, without its shutdown
    logs and failure report: the processes' own error, or the caller's interruption message, says what happened.
    Exits with the first failed process's status, or 128 + the signal that stopped it."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    for name in list(logging.root.manager.loggerDict):  # each sets its own level (LOGLEVEL), so each is quietened
        if name.startswith("torch.distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        run(parse_args(["--standalone", *arguments, "-m", "rnnkit.worker"]))
    except ChildFailedError as e:
        first = min(e.failures.values(), key=lambda failure: failure.timestamp)
        sys.exit(first.exitcode if first.exitcode > 0 else 128 - first.exitcode)
    except SignalException as e:
        sys.exit(128 + int(e.sigval))


if __name__ == "__main__" and sys.argv[1:2] == ["--torchrun"]:
    quiet_torchrun(sys.argv[2:])
