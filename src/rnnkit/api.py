"""``rnnkit.train``: from a data file to a trained, saved, evaluated model, whatever its task.

Keyword arguments are named as the command line's options (dashes as underscores), so a command that works reads
the same in Python: ``rnnkit train data.csv --cell gru --hidden 256`` is ``rnnkit.train("data.csv", cell="gru",
hidden=256)``. The options are checked against the one table (:mod:`rnnkit.options`), the task is found in the
registry (:mod:`rnnkit.tasks`), and the task trains (``rnnkit.tasks.<name>.train``); ``nproc=N`` runs the same call
in N processes under torchrun (:mod:`rnnkit.training.launch`).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from rnnkit import tasks
from rnnkit.errors import RnnkitError, RnnkitWarning
from rnnkit.options import TrainOptions
from rnnkit.rundir import TEST_REPORT, choose_run_dir, data_name, final_dir, run_dir_for
from rnnkit.training.device import choose_device
from rnnkit.training.distributed import replicas_from_environment

Data = str | Path | list[str | Path] | None


def train_options(data: Data, options: dict[str, Any]) -> TrainOptions:
    """``rnnkit.train``'s keywords as checked :class:`TrainOptions`; unknown names are refused. Without ``task``, a
    file that implies its task (a CoNLL-U file: a tagger) gives it, else a classifier."""
    if "progress" in options:  # rnnkit 0.1's keyword, the opposite of --quiet
        warnings.warn("rnnkit.train(progress=...) is now quiet=...", DeprecationWarning, stacklevel=3)
        options = dict(options)
        options["quiet"] = not options.pop("progress")
    if "task" not in options:
        implied = [task.name for task in tasks.registered().values() if task.implied_by(data)]
        if implied:
            options = {**options, "task": implied[0]}
    return TrainOptions(**options).resolve()


def train(data: Data = None, **options: Any) -> Any:
    """Train a model and return it, saved in its run directory: a text classifier on a labelled file (the default,
    ``task="classify"``), a language model on running text (``task="lm"``; one file or a list), a sequence tagger
    on tagged sentences (``task="tag"``, implied by a ``.conllu`` file), or any other registered task's model.

    With ``data=None`` it trains a classifier on the bundled AG News sample and reports on its test split. The test
    report, if any, is in ``model.report``; each network's per-epoch history in
    ``model.training["members"][k]["history"]`` (one member unless it is an ensemble), the validation figures in
    ``model.training["valid"]``.
    """
    opts = train_options(data, options)
    task = tasks.get(opts.task)
    if isinstance(data, list | tuple) and len(data) > 1 and not task.several_files:
        several = " or ".join(f"--task {t.name}" for t in tasks.registered().values() if t.several_files)
        raise RnnkitError(f"{task.title} trains on one file; join the files (several files are for {several})")
    device = choose_device(opts.device)  # a GPU asked for where there is none: said before any data is read
    if os.environ.get("RANK", "0") == "0":
        run_dir_for(opts, run_name(data))  # an --out that would be refused: said before any data is read
        warn_held_out_is_training(data, opts)
    if opts.nproc is not None and opts.nproc > 1 and "WORLD_SIZE" not in os.environ:
        return train_in_processes(data, opts)
    replicas = replicas_from_environment(device)  # under torchrun: this process's place among the others
    if replicas is not None and not replicas.main:
        opts = opts.replace(quiet=True)  # process 0 speaks for all
    return task.train(data, opts)


def train_in_processes(data: Data, opts: TrainOptions) -> Any:
    """``rnnkit.train(..., nproc=N)``: the same call in N new processes under ``torchrun`` on this machine
    (:mod:`rnnkit.training.launch`), then the model and its test report read from the run directory, chosen here
    first so that it is known."""
    from rnnkit.loading import load
    from rnnkit.training.launch import train_in_processes as launch

    run_dir = choose_run_dir(opts, run_name(data)) if opts.out is None else Path(opts.out)
    options = {k: v for k, v in opts.to_dict().items() if k != "nproc"} | {"out": str(run_dir)}
    source = [str(d) for d in data] if isinstance(data, list | tuple) else None if data is None else str(data)
    launch(opts.nproc, source, options)
    run_dir = final_dir(run_dir)  # a run that replaced a finished model trained beside it
    model = load(run_dir, engine="torch")
    model.run_dir = run_dir
    report = run_dir / TEST_REPORT
    model.report = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
    return model


def warn_held_out_is_training(data: Data, opts: TrainOptions) -> None:
    """Warn when ``--test`` or ``--valid`` names a training file: its figures would be those of text the model
    learnt from, which say nothing of how it does on new text."""
    sources = data if isinstance(data, list | tuple) else [] if data is None else [data]
    training = {Path(p).resolve() for p in sources if Path(p).exists()}
    for option, path in (("--test", opts.test), ("--valid", opts.valid)):
        if path is not None and Path(path).exists() and Path(path).resolve() in training:
            warnings.warn(
                f"{option} {path} is the training file: its figures are of texts the model learnt from, not of new "
                "ones; hold out a file of its own",
                RnnkitWarning,
                stacklevel=3,
            )


def run_name(data: Data) -> str:
    """A run's default directory name: its (first) data file's (:func:`rnnkit.rundir.data_name`), or the bundled
    sample's."""
    first = (data[0] if data else None) if isinstance(data, list | tuple) else data
    return data_name(Path(first)) if first else "ag_news_sample"
