"""One of the processes that ``rnnkit train --nproc N`` starts under torchrun (:mod:`rnnkit.training.launch`): the
``rnnkit.train`` call it was handed in ``RNNKIT_TRAIN``, ended with an exit status, never a traceback: a bad option or
file is one line for the launcher to raise, a bug one line naming the log of its traceback."""

from __future__ import annotations

import json
import os
import sys
import traceback

from rnnkit.api import train
from rnnkit.errors import RnnkitError
from rnnkit.training.launch import EXIT_CRASH, EXIT_ERROR, SPEC, crash_log, report_error
from rnnkit.training.trainer import TrainingInterrupted


def main() -> None:
    """One of the processes: the call itself. Errors and signals end it with a status, never a traceback."""
    spec = json.loads(os.environ[SPEC])
    try:
        train(spec["data"], **spec["options"])
    except RnnkitError as e:
        report_error(str(e))
        sys.exit(EXIT_ERROR)
    except TrainingInterrupted as e:  # process 0 wrote the checkpoint; the caller says how to resume
        sys.exit(128 + e.signum)
    except Exception as e:  # a bug: one line for the user, the traceback kept in a file for the report
        rank, world = os.environ.get("RANK", "0"), os.environ.get("WORLD_SIZE", "1")
        log = crash_log(spec["options"].get("out"), rank, traceback.format_exc())
        first = (str(e).strip().splitlines() or [""])[0]
        report_error(
            f"training in {world} processes failed in process {rank}: {type(e).__name__}: {first}; the traceback "
            f"is in {log}"
        )
        sys.exit(EXIT_CRASH)


if __name__ == "__main__":
    main()
