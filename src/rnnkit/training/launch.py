"""What each process started by ``rnnkit.train(..., nproc=N)`` runs: the call itself, its data and options passed as
JSON in ``RNNKIT_TRAIN`` (the processes are new, and cannot share the caller's objects). A bad option or file is one
line, ``error: ...``, and exit status 2, as on the command line."""

from __future__ import annotations

import json
import os
import sys

SPEC = "RNNKIT_TRAIN"


def main() -> None:
    from rnnkit.api import train
    from rnnkit.errors import RnnkitError

    spec = json.loads(os.environ[SPEC])
    try:
        train(spec["data"], **spec["options"])
    except RnnkitError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
