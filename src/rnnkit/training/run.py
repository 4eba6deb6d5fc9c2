"""A training run, the steps every task takes around the one training loop: the run directory chosen and checked
before any training, the loop's settings from the options, one network trained with checkpoints and resume (its
fingerprint naming the data and options a checkpoint must match), and the finish: the model saved, the test
report, the checkpoints removed, the curves drawn, and the run put in place of a model it replaces.

A task's ``train`` (``rnnkit.tasks.<name>.train``) reads its data and builds its network, then calls these.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from rnnkit import tasks
from rnnkit.io import atomic_write_bytes, atomic_write_json
from rnnkit.options import TrainOptions, all_options
from rnnkit.plots import notice_missing, plots_available, png, training_curves
from rnnkit.rundir import (
    CHECKPOINT,
    CURVES,
    STAGE_DIRS,
    TEST_REPORT,
    choose_run_dir,
    final_dir,
    member_dirs,
    prepare_run_dir,
    promote,
)
from rnnkit.training.device import choose_device
from rnnkit.training.distributed import Replicas, agree, replicas_from_environment
from rnnkit.training.trainer import TrainConfig, train_loop


def say(*lines: str, quiet: bool) -> None:
    """What the run is doing, on standard error, unless ``quiet``."""
    if not quiet:
        for line in lines:
            print(line, file=sys.stderr)


def settings(opts: TrainOptions) -> dict[str, Any]:
    """The options that say what a run trains (not how it goes: ``--out``, ``--resume`` ...), as a model directory
    records them and a checkpoint's fingerprint holds them."""
    run_only = {name for name, option in all_options().items() if option.run_only}
    return {k: v for k, v in opts.to_dict().items() if k not in run_only}


def fingerprint(opts: TrainOptions, identity: list[Any]) -> str:
    """What a checkpoint must come from to be resumed: the options and the data (``identity``), and the number of
    processes (a checkpoint resumes only with as many: each takes its part)."""
    replicas = replicas_from_environment()
    world = 1 if replicas is None else replicas.world
    return hashlib.sha256(json.dumps([settings(opts), *identity, world], sort_keys=True).encode()).hexdigest()


def make_run_dir(opts: TrainOptions, name: str, model: Any, config: TrainConfig, replicas: Replicas | None) -> Path:
    """The run directory, chosen, made and checked for room before any training (by process 0 under torchrun,
    which tells the others)."""

    def choose() -> Path:
        run_dir = choose_run_dir(opts, name)
        prepare_run_dir(run_dir, model, config.average > 0)  # fail now, not after the first epoch
        return run_dir

    return agree(replicas, choose)


def loop_config(opts: TrainOptions, **changes: Any) -> TrainConfig:
    """The training loop's settings from the options, with ``changes`` (a one-line error names a bad one)."""
    values = dict(
        epochs=opts.epochs,
        batch_size=opts.batch_size,
        lr=opts.lr,
        schedule=opts.schedule,
        layer_decay=opts.layer_decay,
        unfreeze=opts.unfreeze,
        weight_decay=opts.weight_decay,
        clip=opts.clip,
        patience=opts.patience,
        metric=getattr(opts, "metric", None),
        seed=opts.seed,
        average=opts.average,
        label_smoothing=opts.label_smoothing or 0.0,
        adversarial=opts.adversarial,
        max_minutes=opts.max_minutes,
        checkpoint_every=opts.checkpoint_every,
        device=choose_device(opts.device),
        share_cores=opts.share_cores,
    )
    return TrainConfig(**{**values, **changes})


def train_network(
    model: Any, objective: Any, config: TrainConfig, opts: TrainOptions, run_dir: Path, identity: list[Any]
) -> dict[str, Any]:
    """Train one network in ``run_dir`` with the one training loop (resumed when asked and a checkpoint is there:
    the checkpoint must come from the same options and data, named by ``identity``), and return what a model
    directory keeps of the run: the options, the best epoch's validation figures, whether the time budget ran
    out, and the history."""
    result = train_loop(
        model,
        objective,
        config,
        run_dir,
        resume=opts.resume and (run_dir / CHECKPOINT).exists(),
        fingerprint=fingerprint(opts, identity),
        progress=not opts.quiet,
        replicas=replicas_from_environment(),
    )
    best = result.history[result.best_epoch - 1] if result.history else {}
    return {
        "options": settings(opts),
        "valid": {k.removeprefix("valid_"): v for k, v in best.items() if k.startswith("valid_")} or None,
        "out_of_time": result.out_of_time,
        "members": [{"seed": opts.seed, "best_epoch": result.best_epoch, "history": result.history}],
    }


def finish(pipeline: Any, run_dir: Path, test: Any, members: int = 1, replicas: Replicas | None = None) -> Any:
    """Save a trained ``pipeline`` in its run directory, report on ``test`` (a file or read data) if given, remove
    the checkpoints of its ``members`` (the run is finished, nothing is left to resume), and draw the training
    curves: last, as the one thing a run can do without. Then the run takes the place of the model it replaces,
    if any. Under torchrun, process 0 alone writes."""
    pipeline.run_dir = run_dir
    if replicas is not None and not replicas.main:
        pipeline.report = None
        pipeline.run_dir = final_dir(run_dir)
        return pipeline
    pipeline.save(run_dir)
    pipeline.report = pipeline.evaluate(test) if test is not None else None
    if pipeline.report is not None:
        atomic_write_json(run_dir / TEST_REPORT, pipeline.report)
    for member_dir in member_dirs(run_dir, members):
        (member_dir / CHECKPOINT).unlink(missing_ok=True)
    for stage in STAGE_DIRS:  # --pretrain's language model and --self-train's teacher: what they taught is in the model
        if (run_dir / stage).is_dir():
            shutil.rmtree(run_dir / stage)
    write_curves(pipeline, run_dir)
    pipeline.run_dir = promote(run_dir)  # in place of the finished model it replaces, if any, now that it is whole
    return pipeline


def write_curves(pipeline: Any, run_dir: Path) -> None:
    """Draw ``curves.png`` in ``run_dir`` from each network's per-epoch history, with the validation figure the
    task names (:meth:`rnnkit.tasks.Task.curves`). Without matplotlib, say so once and draw nothing."""
    if not plots_available():
        notice_missing(CURVES)
        return
    training = pipeline.training
    score, against_time = tasks.get(pipeline.task).curves(training)
    histories = [member["history"] for member in training["members"]]
    atomic_write_bytes(run_dir / CURVES, png(training_curves(histories, score, against_time=against_time)))
