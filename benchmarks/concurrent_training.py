"""Several ``rnnkit train`` runs at once on one machine: each run's seconds per epoch, alone and beside others.

Two trainings started together on a 2-core machine can slow each other's epochs 25-50x instead of the 2x a user
expects: each process starts as many OpenMP threads as the machine has cores, and an OpenMP thread waiting for the
next parallel region spins on its core (GNU OpenMP: 300,000 turns by default), taking it from the other process's
threads that have work. The arms: rnnkit's default since issue 29 ("turns": the runs take turns on the cores, a few
steps at a time, ``rnnkit.training.turns``), and runs side by side (``--no-share-cores``) under ways of waiting set in
each run's environment: libgomp's default ("before", what every run did before issue 29), shorter spins
(``GOMP_SPINCOUNT``), no spinning at all (``OMP_WAIT_POLICY=PASSIVE``), and one thread per run
(``OMP_NUM_THREADS=1``, no thread to wait).

For each arm and each number of runs at once (1, 2, 3), that many classifiers with the default preset train on
TREC's training split for ``--epochs`` epochs, started together. Reported: the median over runs, epochs and
``--repeat`` rounds of each epoch's seconds (``train_log.jsonl``), and its ratio to the first arm alone; each round
runs every arm and count once, so that the arms meet the same conditions. The slowdown of runs side by side varies
a lot from round to round (whether the spinning threads of two processes happen to fall into step): use several.

    python benchmarks/concurrent_training.py --arms before,turns,one-thread --repeat 3
    python benchmarks/concurrent_training.py --arms before,passive --runs 1,2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path("../shared/datasets/trec/train.csv")
# Each arm: its environment and its extra options. "turns" is rnnkit's default since issue 29 (trainings take turns on
# the cores, rnnkit.training.turns); the others run side by side (--no-share-cores) and differ in how long an idle
# OpenMP thread spins before it sleeps (GNU OpenMP's GOMP_SPINCOUNT; "before" is libgomp's own default, written out,
# what every run did before issue 29), no spinning, or no second thread.
SIDE_BY_SIDE = ["--no-share-cores"]
ARMS = {
    "turns": ({}, []),
    "before": ({"GOMP_SPINCOUNT": "300000"}, SIDE_BY_SIDE),
    "30000": ({"GOMP_SPINCOUNT": "30000"}, SIDE_BY_SIDE),
    "10000": ({"GOMP_SPINCOUNT": "10000"}, SIDE_BY_SIDE),
    "3000": ({"GOMP_SPINCOUNT": "3000"}, SIDE_BY_SIDE),
    "1000": ({"GOMP_SPINCOUNT": "1000"}, SIDE_BY_SIDE),
    "one-thread": ({"OMP_NUM_THREADS": "1"}, SIDE_BY_SIDE),
    "passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, SIDE_BY_SIDE),
}


def cpu_model() -> str:
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def epochs_at_once(arm: str, runs: int, epochs: int, data: Path, work: Path) -> dict:
    """Start ``runs`` trainings together under ``arm``'s wait policy; their epochs' seconds and the wall time."""
    mine = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
    changes, options = ARMS[arm]
    env = {k: v for k, v in os.environ.items() if k not in mine} | changes
    outs = [work / f"{arm}-{runs}-{i}" for i in range(runs)]
    work.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "rnnkit", "train", str(data), "--epochs", str(epochs), "--quiet", "--seed", "0"]
    command += options
    start = time.perf_counter()
    processes = [
        subprocess.Popen([*command, "--out", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for out in outs
    ]
    for process in processes:
        _, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"a run failed: {err.decode()[-2000:]}")
    wall = time.perf_counter() - start
    seconds = [
        json.loads(line)["seconds"]
        for out in outs
        for line in (out / "train_log.jsonl").read_text().splitlines()
        if '"seconds"' in line
    ]
    return {"arm": arm, "runs": runs, "epoch_s": statistics.median(seconds), "epochs": seconds, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--runs", default="1,2,3", help="how many trainings at once, comma-separated")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each round runs every arm and count once")
    parser.add_argument("--out", default="benchmarks/logs/concurrent_training.json")
    args = parser.parse_args()
    arms, counts = args.arms.split(","), [int(n) for n in args.runs.split(",")]
    rounds = []
    with tempfile.TemporaryDirectory() as work:
        for round_ in range(args.repeat):
            for runs in counts:
                for arm in arms:
                    rounds.append(epochs_at_once(arm, runs, args.epochs, args.data, Path(work) / str(round_)))
                    last = rounds[-1]
                    print(f"round {round_ + 1}: {arm:8s} {runs} at once: {last['epoch_s']:7.2f} s an epoch", flush=True)
    rows = []
    for runs in counts:
        for arm in arms:
            mine = [r for r in rounds if r["arm"] == arm and r["runs"] == runs]
            epochs = [s for r in mine for s in r["epochs"]]
            wall = statistics.median(r["wall_s"] for r in mine)
            row = {"arm": arm, "runs": runs, "epoch_s": statistics.median(epochs), "epochs": epochs, "wall_s": wall}
            rows.append(row)
    alone = next(r["epoch_s"] for r in rows if r["runs"] == min(counts) and r["arm"] == arms[0])
    for row in rows:
        row["vs_alone"] = row["epoch_s"] / alone
        print(
            f"{row['arm']:8s} {row['runs']} at once: {row['epoch_s']:7.2f} s an epoch ({row['vs_alone']:.2f}x "
            f"{arms[0]} alone; all {row['runs']} done in {row['wall_s']:.1f} s)"
        )
    record = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "data": str(args.data),
        "epochs": args.epochs,
        "rows": rows,
        "rounds": rounds,
    }
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    print(f"written: {args.out} ({record['cpu']}, {record['cores']} cores)")


if __name__ == "__main__":
    main()
