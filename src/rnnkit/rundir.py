"""Run directories: where a training run writes, and the rules that keep a finished model from being lost.

A run directory holds the model (:mod:`rnnkit.modeldir`), the per-epoch log, the test report, the training curves
and, while training, a checkpoint; an ensemble's members keep their checkpoint and log in ``member-K/``, and
``--pretrain``'s language model its own in ``pretrain/`` (gone when the run is finished). A
directory that holds a finished model is never written over unless the user asks (``--overwrite``,
``save(..., overwrite=True)``), and then everything that belonged to the old run goes with it, so no report, log
or figure is left describing a model that no longer exists. User files beside them are left alone.

Replacing a finished model never loses it: the new run trains beside it, in a hidden sibling directory
(:func:`staging_dir`), and takes its place only when it is complete (:func:`promote`), in one step where the system
can swap two directories atomically (Linux's ``renameat2``), the user's own files going with it. A run that fails or
is interrupted leaves the old model as it was (and its own checkpoint in the sibling, for ``--resume``).

A directory that holds files a run would write (a ``curves.png``, a ``train_log.jsonl``) but no sign of an rnnkit
run (an rnnkit ``config.json``, a checkpoint) holds the user's own files: it is refused, never written over.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from rnnkit.errors import RnnkitError
from rnnkit.modeldir import FILES as MODEL_FILES
from rnnkit.modeldir import FORMAT, LEGACY_FORMAT
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
STAGING_SUFFIX = ".rnnkit-next"  # a run that replaces a finished model trains in .<name>.rnnkit-next beside it
CRASH_LOGS = "train_error-rank*.log"  # tracebacks of processes that failed (rnnkit.training.launch)


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


def rnnkit_config(path: Path) -> bool:
    """Whether ``path`` is a ``config.json`` that rnnkit wrote (a model's), not some other program's."""
    try:
        if path.stat().st_size > 2**20:  # a model's config.json is a few kilobytes; its training record, more
            return path.read_bytes()[:4096].find(b'"format": "rnnkit-') >= 0
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") in (FORMAT, LEGACY_FORMAT)


def written_by_runs(directory: Path) -> list[str]:
    """The names in ``directory`` that a run writes: its files, members' and stages' directories, crash logs."""
    names = [name for name in RUN_FILES if (directory / name).exists()]
    folders = [*_member_dirs_present(directory), *(directory / stage for stage in STAGE_DIRS)]
    names += [p.name + "/" for p in folders if p.is_dir() and any(p.iterdir())]  # empty: made, never written
    return names + sorted(p.name for p in directory.glob(CRASH_LOGS))


def refuse_foreign(directory: Path) -> None:
    """Refuse a directory that holds files a run would write but no sign of a run (an rnnkit model's
    ``config.json``, a checkpoint to resume): they are the user's own, and must not be written over."""
    if not directory.is_dir() or rnnkit_config(directory / "config.json") or interrupted(directory):
        return
    names = written_by_runs(directory)
    if names:
        shown = ", ".join(names[:4]) + (" ..." if len(names) > 4 else "")
        raise RnnkitError(
            f"{directory} holds {shown}, which a run would write, but no rnnkit model or run: they are not "
            "rnnkit's to replace; choose another --out, or move them"
        )


def clear_run(directory: Path) -> None:
    """Remove everything a run wrote to ``directory`` (model, reports, logs, checkpoint, members); keep the rest.
    Refused where nothing there is a run's (:func:`refuse_foreign`)."""
    refuse_foreign(directory)
    for name in RUN_FILES:
        (directory / name).unlink(missing_ok=True)
    for member in [*_member_dirs_present(directory), *(directory / stage for stage in STAGE_DIRS)]:
        if member.is_dir():
            shutil.rmtree(member)
    for log in directory.glob(CRASH_LOGS):
        log.unlink(missing_ok=True)


def refuse_to_overwrite(directory: Path, how: str) -> None:
    """Raise unless ``directory`` is free of a finished run; ``how`` says how to ask for an overwrite."""
    refuse_foreign(directory)
    if finished(directory):
        raise RnnkitError(
            f"{directory} holds a finished model: choose another directory, or {how} to replace it "
            f"(its reports and logs go with it)"
        )


def staging_dir(directory: Path) -> Path:
    """Where a run that replaces the finished model in ``directory`` trains and writes until it is complete: a
    hidden sibling, ``.<name>.rnnkit-next`` (on the same file system, so that it can take the old one's place)."""
    return directory.parent / f".{directory.name}{STAGING_SUFFIX}"


def final_dir(run_dir: Path) -> Path:
    """The directory a run's model ends in: ``run_dir`` itself, or for a staging directory the one it replaces."""
    name = run_dir.name
    if name.startswith(".") and name.endswith(STAGING_SUFFIX) and len(name) > len(STAGING_SUFFIX) + 1:
        return run_dir.parent / name[1 : -len(STAGING_SUFFIX)]
    return run_dir


def run_dir_for(options: TrainOptions, data_name: str) -> Path:
    """Where a run with ``options`` writes, checked and refused in one line, without touching the disk: called
    before any data is read (a refusal costs nothing then), and again by :func:`choose_run_dir`.

    ``--out`` if given, else ``runs/<data name>``, numbered ``-2``, ``-3`` ... so no finished run is lost (with
    ``--overwrite``, ``runs/<data name>`` itself). With ``--resume``: the directory that holds the interrupted run
    (without ``--out``, the newest such one under ``runs/<data name>*``), whatever ``--overwrite`` says, so that
    adding ``--resume`` to the command of an interrupted run, ``--overwrite`` or not, continues it. With
    ``--overwrite`` of a finished model: its :func:`staging_dir`, which takes its place when the run is complete.
    """
    base = Path("runs") / data_name
    if options.out is None and (options.resume or not options.overwrite):
        candidates = [base] + [base.with_name(f"{base.name}-{i}") for i in range(2, 1000)]
        if options.resume:
            resumable = [d for c in candidates for d in (c, staging_dir(c)) if interrupted(d)]
            if not resumable:
                raise RnnkitError(f"nothing to resume: no interrupted run under {base}*; pass --out DIR")
            return resumable[-1]
        return next(c for c in candidates if not c.exists())
    out = Path(options.out) if options.out is not None else base
    refuse_foreign(out)
    if options.resume:
        for place in (out, staging_dir(out)):
            if interrupted(place):
                return place
        raise RnnkitError(f"nothing to resume: no interrupted run in {out}; start the run without --resume")
    if options.overwrite:
        return staging_dir(out) if finished(out) else out
    if interrupted(out):
        raise RnnkitError(f"{out} holds an interrupted run: add --resume to continue it, or --overwrite to start over")
    if interrupted(staging_dir(out)):
        raise RnnkitError(
            f"{out} holds a finished model and an interrupted run that was to replace it: add --resume to continue "
            "that run, or --overwrite to start it over"
        )
    refuse_to_overwrite(out, "add --overwrite")
    return out


def choose_run_dir(options: TrainOptions, data_name: str) -> Path:
    """:func:`run_dir_for`, made ready: with ``--overwrite`` (and no ``--resume``), what an earlier run left there
    is cleared first, but a finished model is left whole until the new run replaces it (:func:`promote`)."""
    run_dir = run_dir_for(options, data_name)
    if options.overwrite and not options.resume:
        if final_dir(run_dir) != run_dir:
            if run_dir.exists():  # an earlier --overwrite that was interrupted: start it over
                shutil.rmtree(run_dir)
        elif run_dir.is_dir():
            clear_run(run_dir)
    return run_dir


def promote(run_dir: Path) -> Path:
    """Put a finished run in its place and return where it is: a run trained beside a finished model
    (:func:`staging_dir`) replaces it, taking the user's own files of the old directory along (hard links, where
    the file system has them, else copies); any other run is already in place.

    The two directories are swapped in one step where the system can (Linux ``renameat2``): the old model is
    whole until the new one is. Elsewhere it is two renames, the old directory kept beside under a hidden name
    until the second has happened.
    """
    final = final_dir(run_dir)
    if final == run_dir:
        return run_dir
    ours = set(written_by_runs(final))
    for entry in final.iterdir():
        if entry.name in ours or entry.name + "/" in ours or entry.name.startswith(".rnnkit-write-test-"):
            continue
        _link_tree(entry, run_dir / entry.name)
    if not _exchange(run_dir, final):
        old = final.parent / f".{final.name}.rnnkit-old"
        if old.exists():
            shutil.rmtree(old)
        os.rename(final, old)
        os.rename(run_dir, final)
        run_dir = old
    shutil.rmtree(run_dir)  # the old run, after the swap
    return final


def _link_tree(source: Path, target: Path) -> None:
    """``source`` (a file, a link or a directory tree) at ``target`` too, without moving or copying bytes where a
    hard link can be made."""
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
    elif source.is_dir():
        target.mkdir()
        for entry in source.iterdir():
            _link_tree(entry, target / entry.name)
    else:
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux ``renameat2(..., RENAME_EXCHANGE)``); ``False`` where the system or
    the file system cannot, so that the caller falls back to renames."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # a C library without it (glibc before 2.28, musl before 1.2.5)
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(b))


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
