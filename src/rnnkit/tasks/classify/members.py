"""Training an ensemble's members: one after another, or several at once in separate processes.

On this project's 2-core machine two one-thread processes trained two networks 1.4x as fast as one two-thread
process trained them in turn (benchmarks/RESULTS.md): batches of a few short texts leave a second thread idle much
of the time. Each member runs the same :func:`fit` either way, with its own run directory, so checkpoints and
resume work alike; ``jobs=N`` gives bit for bit the networks that training them in turn with ``threads // N``
threads gives (tested).
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from rnnkit.data import EncodedTexts
from rnnkit.tasks.classify.objective import fit
from rnnkit.training.distributed import Replicas
from rnnkit.training.trainer import FitResult, TrainConfig, progress_bar, validation_summary


@dataclass
class MemberRun:
    """How to train one member: its training settings (seed included), where it checkpoints, and its label."""

    config: TrainConfig
    run_dir: Path
    resume: bool = False
    fingerprint: str = ""
    name: str = ""


def fit_members(
    members: list[nn.Module],
    runs: list[MemberRun],
    train: EncodedTexts,
    valid: EncodedTexts | None,
    labels: list[str],
    jobs: int = 1,
    progress: bool = True,
    replicas: Replicas | None = None,
) -> list[FitResult]:
    """Train each member in place by its run; ``jobs`` members at a time, each in a process of its own (or, under
    torchrun, one after another, each on every process)."""
    if jobs <= 1 or len(members) == 1:
        return [
            fit(m, train, valid, labels, r.config, r.run_dir, r.resume, r.fingerprint, progress, None, r.name, replicas)
            for m, r in zip(members, runs, strict=True)
        ]
    threads = max(1, torch.get_num_threads() // jobs)
    results: list[FitResult | None] = [None] * len(members)
    bar = progress_bar(len(members), f"members, {jobs} at a time", "member", progress)
    # spawn, not fork: a forked child would inherit torch's thread pools and any locks they hold.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            futures = {
                pool.submit(_fit_in_process, member, run, train, valid, labels, threads): i
                for i, (member, run) in enumerate(zip(members, runs, strict=True))
            }
            for future in as_completed(futures):
                i = futures[future]
                state, results[i] = future.result()
                members[i].load_state_dict(state)
                record = results[i].history[results[i].best_epoch - 1] if results[i].history else {}
                summary = validation_summary(record)
                bar.write(f"{runs[i].name}done: best epoch {results[i].best_epoch}; {summary}", file=sys.stderr)
                bar.update()
        except BaseException:  # Ctrl-C or a member's error: start nothing more; finished epochs are checkpointed
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            bar.close()
    return [r for r in results if r is not None]


def _fit_in_process(
    member: nn.Module,
    run: MemberRun,
    train: EncodedTexts,
    valid: EncodedTexts | None,
    labels: list[str],
    threads: int,
) -> tuple[dict[str, torch.Tensor], FitResult]:
    torch.set_num_threads(threads)
    result = fit(member, train, valid, labels, run.config, run.run_dir, run.resume, run.fingerprint, progress=False)
    return member.state_dict(), result
