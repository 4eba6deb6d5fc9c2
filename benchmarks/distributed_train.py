"""One process against two: the bundled AG News classifier trained by ``rnnkit train`` and by ``rnnkit train --nproc
2`` (torchrun, DistributedDataParallel, gloo), same seed, same global batch (64 in one process; 32 in each of two).

Measures wall time (from the command to the saved model, process start-up and torchrun included) and test accuracy
on the sample's test split, for each seed; runs alternate (one process, two processes, ...). One network
(``--ensemble 1``) with the defaults otherwise, adversarial training included. On a 2-core machine one process
already uses both cores (torch's intra-op threads), so two processes of one thread each are not expected to be
faster: the figures say what splitting the same work between processes costs here, and show that the model is as
accurate (the issue's bar: within 1 point).

Usage: python benchmarks/distributed_train.py [--seeds 0,1,2] [--json benchmarks/logs/distributed_train.json]
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

import torch


def run(out: Path, seed: int, nproc: int) -> dict:
    """One training run: its seconds and test accuracy."""
    batch = 64 // nproc
    args = ["--ensemble", "1", "--seed", str(seed), "--batch-size", str(batch), "--out", str(out), "--quiet"]
    if nproc > 1:
        args += ["--nproc", str(nproc)]
    env = dict(os.environ)
    if nproc > 1:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 2) // nproc))  # the cores shared out
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rnnkit", "train", *args], check=True, env=env, capture_output=True)
    seconds = time.perf_counter() - started
    report = json.loads((out / "test_report.json").read_text())
    return {"seed": seed, "nproc": nproc, "seconds": round(seconds, 1), "accuracy": round(report["accuracy"], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(
        f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, torch {torch.__version__}"
    )
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in map(int, args.seeds.split(",")):
            for nproc in (1, 2):
                result = run(Path(tmp) / f"s{seed}-p{nproc}", seed, nproc)
                print(result, flush=True)
                runs.append(result)
    print("\n| processes | batch per process | test accuracy (mean) | seconds (median) |\n|---:|---:|---:|---:|")
    summary = {}
    for nproc in (1, 2):
        mine = [r for r in runs if r["nproc"] == nproc]
        accuracy = statistics.mean(r["accuracy"] for r in mine)
        seconds = statistics.median(r["seconds"] for r in mine)
        summary[nproc] = {"accuracy": accuracy, "seconds": seconds}
        print(f"| {nproc} | {64 // nproc} | {100 * accuracy:.2f} | {seconds:.1f} |")
    gap = 100 * (summary[2]["accuracy"] - summary[1]["accuracy"])
    print(f"\ntwo processes: {gap:+.2f} points, {summary[2]['seconds'] / summary[1]['seconds']:.2f}x the time")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "summary": summary}, indent=1) + "\n")


if __name__ == "__main__":
    main()
