"""Run directories: where a training run writes, and the rules that keep a finished model from being lost.

A run directory holds the model (:mod:`rnnkit.modeldir`), the per-epoch log, the test report, the training curves
and, while training, a checkpoint; an ensemble's members keep their checkpoint and log in ``member-K/``, and
``--pretrain``'s language model its own in ``pretrain/`` (gone when the run is finished). A
directory that holds a finished model is never written over unless the user asks (``--overwrite``,
``save(..., overwrite=True)``), and then everything that belonged to the old run goes with it, so no report, log
or figure is left describing a model that no longer exists. User files beside them are left alone.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from rnnkit.errors import RnnkitError
from rnnkit.modeldir import FILES as MODEL_FILES
from rnnkit.options import TrainOptions
from rnnkit.training.trainer import CHECKPOINT, LOG

TEST_REPORT = "test_report.json"
CURVES = "curves.png"  # the training curves (rnnkit.plots), when matplotlib is installed
MEMBER_PREFIX = "member-"
PRETRAIN_DIR = "pretrain"  # --pretrain's language model: its checkpoint and log while the run goes on
TEACHER_DIR = "teacher"  # --self-train's first classifier: its checkpoints, logs and pseudo-labels, likewise
STAGE_DIRS = (PRETRAIN_DIR, TEACHER_DIR)  # what a run trains before its model, removed when the run finishes
# Everything a run writes at the top of its directory; members' directories go whole.
RUN_FILES = (*MODEL_FILES, TEST_REPORT, LOG, CHECKPOINT, CURVES)


def data_name(path: Path) -> str:
    """A run's default name, from its data file: ``reviews.csv`` -> ``reviews``, ``imdb/train.csv`` ->
    ``imdb-train``, ``plays.txt`` -> ``plays``, ``en_ewt-ud-train.conllu`` -> ``en_ewt-ud-train``."""
    name = path.name
    for suffix in (".gz", ".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".txt", ".conllu", ".conll"):
        name = name.removesuffix(suffix)
    parent = path.parent.name
    return f"{parent}-{name}" if name in ("train", "data") and parent else name


def member_dirs(run_dir: Path, members: int) -> list[Path]:
    """Where each member's checkpoint and log go: the run directory itself for a single network."""
    return [run_dir] if members == 1 else [run_dir / f"{MEMBER_PREFIX}{i + 1}" for i in range(members)]


def _member_dirs_present(directory: Path) -> list[Path]:
    return [p for p in directory.glob(f"{MEMBER_PREFIX}*") if p.is_dir() and p.name[len(MEMBER_PREFIX) :].isdigit()]


def interrupted(directory: Path) -> bool:
    """Whether ``directory`` holds a run that stopped before it finished (a checkpoint is left to resume)."""
    places = [directory, *(directory / stage for stage in STAGE_DIRS)]
    places += [member for place in places for member in _member_dirs_present(place)]
    return any((d / CHECKPOINT).exists() for d in places)


def holds_model(directory: Path) -> bool:
    """Whether ``directory`` holds a saved model, whole or in part."""
    return any((directory / name).exists() for name in MODEL_FILES)


def finished(directory: Path) -> bool:
    """Whether ``directory`` holds what a finished run leaves: a model or a test report."""
    return holds_model(directory) or (directory / TEST_REPORT).exists()


def clear_run(directory: Path) -> None:
    """Remove everything a run wrote to ``directory`` (model, reports, logs, checkpoint, members); keep the rest."""
    for name in RUN_FILES:
        (directory / name).unlink(missing_ok=True)
    for member in [*_member_dirs_present(directory), *(directory / stage for stage in STAGE_DIRS)]:
        if member.is_dir():
            shutil.rmtree(member)


def refuse_to_overwrite(directory: Path, how: str) -> None:
    """Raise unless ``directory`` is free of a finished run; ``how`` says how to ask for an overwrite."""
    if finished(directory):
        raise RnnkitError(
            f"{directory} holds a finished model: choose another directory, or {how} to replace it "
            f"(its reports and logs go with it)"
        )


def choose_run_dir(options: TrainOptions, data_name: str) -> Path:
    """Where a run writes, cleared first when ``overwrite`` asks for it; refuses to lose a finished model.

    ``--out`` if given, else ``runs/<data name>``, numbered ``-2``, ``-3`` ... so no finished run is lost (with
    ``--overwrite``, ``runs/<data name>`` itself). With ``--resume``: the directory that holds the interrupted run
    (without ``--out``, the newest such one under ``runs/<data name>*``), whatever ``--overwrite`` says, so that
    adding ``--resume`` to the command of an interrupted run, ``--overwrite`` or not, continues it.
    """
    base = Path("runs") / data_name
    if options.out is None and (options.resume or not options.overwrite):
        candidates = [base] + [base.with_name(f"{base.name}-{i}") for i in range(2, 1000)]
        if options.resume:
            resumable = [c for c in candidates if interrupted(c)]
            if not resumable:
                raise RnnkitError(f"nothing to resume: no interrupted run under {base}*; pass --out DIR")
            return resumable[-1]
        return next(c for c in candidates if not c.exists())
    out = Path(options.out) if options.out is not None else base
    if options.resume:
        if not interrupted(out):
            raise RnnkitError(f"nothing to resume: no interrupted run in {out}; start the run without --resume")
        return out
    if options.overwrite:
        if out.is_dir():
            clear_run(out)
        return out
    if interrupted(out):
        raise RnnkitError(f"{out} holds an interrupted run: add --resume to continue it, or --overwrite to start over")
    refuse_to_overwrite(out, "add --overwrite")
    return out


def prepare_run_dir(run_dir: Path, model: Any, averaged: bool) -> None:
    """Make the run directory and make sure, before any training, that it can be written and has room for the
    checkpoints: a run should fail in its first second, not after an hour, and never leave half a file.

    The room needed is estimated from the weights: a checkpoint holds the model, Adam's two moments, the best
    weights and (``averaged``) their moving average, and while one replaces another both are on disk; then the
    finished model.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    probe = run_dir / f".rnnkit-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise RnnkitError(f"cannot write in {run_dir} ({e.strerror}): choose another --out") from None
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    need = 2 * (4 + int(averaged)) * weights + weights
    free = shutil.disk_usage(run_dir).free
    if free < need:
        raise RnnkitError(
            f"{run_dir}: {free / 1e6:,.0f} MB free, and this model's checkpoints need about {need / 1e6:,.0f} MB; "
            "free some space or choose another --out"
        )
