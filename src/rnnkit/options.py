"""The options of ``rnnkit train`` and ``rnnkit.train``: one table, from which the command line's flags, their help
and their defaults are made, and against which every value is checked. No heavy imports, so ``rnnkit --help``
does not wait for torch.

The options every task shares are listed here (:data:`SHARED`); each task adds its own and gives its defaults
(:attr:`rnnkit.tasks.Task.options`, :attr:`rnnkit.tasks.Task.defaults`), the one place a default lives. A shared
option without a default of its own belongs to the tasks whose tables name it: ``--bidirectional`` is a
classifier's and a tagger's, not a language model's, and is refused there in one line.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from rnnkit import tasks
from rnnkit.errors import RnnkitError
from rnnkit.tasks import Option

MAX_SUBWORDS = 2**24  # hash buckets of --subwords: 16 million rows of the n-gram table at most

# Checked against the layers that implement them by tests/apps/test_options.py.
CHOICES = {
    "format": ("csv", "tsv", "jsonl", "agnews"),
    "tokenizer": ("word", "char", "treebank"),
    "model": ("rnn", "bag"),
    "cell": ("lstm", "gru", "rnn"),
    "pooling": ("last", "mean", "max", "attention", "concat"),
    "backend": ("fused", "explicit"),
    "device": ("auto", "cpu", "cuda"),
    "metric": ("accuracy", "macro_f1"),
    "schedule": ("linear", "constant", "slanted"),
    "preset": ("fast", "accurate"),
}

# The options every task shares, in the order the help lists them.
SHARED: tuple[Option, ...] = (
    Option("task", "What the model learns (see the first lines of this help).", default="classify"),
    Option("test", "A file to report on after training.", kind="file"),
    Option("valid", "A validation file.", kind="file", auto="a cut of DATA"),
    Option(
        "valid_split",
        "Share of DATA held out to choose the best epoch (a language model holds out the end of its text); 0, as "
        "in a classifier's --preset fast: train on every row and keep the last epoch.",
        kind="float",
        fraction=True,
    ),
    Option(
        "strict",
        "Refuse empty texts and doubtful labels instead of skipping or warning about them.",
        kind="flag",
        default=False,
    ),
    Option(
        "format",
        "File format; guessed from the extension (.csv, .tsv, .jsonl, .gz looked through).",
        choices=CHOICES["format"],
        per_task=True,
    ),  # fmt: skip
    Option(
        "delimiter",
        "The field separator of a CSV file: one character, or tab, semicolon, pipe ...",
        auto="sniffed from the header: , ; tab or |",
        per_task=True,
    ),
    Option("tokenizer", choices=CHOICES["tokenizer"], per_task=True),
    Option("lowercase", kind="switch", per_task=True),
    Option("max_length", "Tokens kept per text.", kind="int", minimum=1, per_task=True),
    Option("min_freq", "Tokens seen fewer times become <unk>.", kind="int", minimum=1, per_task=True),
    Option("max_vocab", kind="int", default=100_000, minimum=2),
    Option("cell", choices=CHOICES["cell"], default="lstm"),
    Option("bidirectional", kind="switch", per_task=True),
    Option("layers", "Stacked recurrent layers.", kind="int", minimum=1, per_task=True),
    Option("hidden", "Hidden state size per direction.", kind="int", minimum=1, per_task=True),
    Option("embedding_dim", kind="int", minimum=1, per_task=True),
    Option(
        "subwords",
        "Hash buckets of the words' character n-grams (3 to 6 characters), whose mean vector is added to each word's "
        "embedding: unseen and rare words are read from their pieces (fastText's way); 0: none.",
        kind="int",
        per_task=True,
    ),
    Option("dropout", kind="float", fraction=True, per_task=True),
    Option(
        "word_dropout",
        "Share of training tokens replaced by <unk>, so unseen words are handled.",
        kind="float",
        fraction=True,
        per_task=True,
    ),
    Option(
        "backend",
        "fused: torch's kernels (fast); explicit: the lesson's cell formulas in a loop (same numbers).",
        choices=CHOICES["backend"],
        default="fused",
    ),
    Option("epochs", "At most this many passes over DATA.", kind="int", minimum=1, per_task=True),
    Option(
        "patience", "Stop after this many epochs without a better validation score.", kind="int", default=3, minimum=1
    ),
    Option("max_minutes", "Stop after this many minutes, keeping the best model so far.", kind="float"),
    Option("batch_size", kind="int", minimum=1, per_task=True),
    Option("lr", "Peak learning rate of AdamW.", kind="float", per_task=True),
    Option(
        "schedule",
        "linear: 5% warm-up, then down to 0 at the last epoch; constant: --lr throughout; slanted: ULMFiT's slanted "
        "triangular rate.",
        choices=CHOICES["schedule"],
        default="linear",
    ),
    Option(
        "layer_decay",
        "Discriminative learning rates: each layer's rate is the one above's divided by this, the embeddings lowest "
        "(ULMFiT: 2.6); 1: one rate.",
        kind="float",
        default=1.0,
        minimum=1,
    ),
    Option(
        "unfreeze",
        "Gradual unfreezing (ULMFiT): epoch 1 trains the head only, each epoch after thaws the layer below.",
        kind="switch",
        default=False,
    ),
    Option("weight_decay", "AdamW's decoupled weight decay.", kind="float", minimum=0, per_task=True),
    Option("clip", "Largest norm of the gradients; larger ones are scaled down to it.", kind="float", default=1.0),
    Option(
        "average",
        "Decay of a moving average of the weights, which is what gets scored and kept (0: off).",
        kind="float",
        fraction=True,
        per_task=True,
    ),
    Option("label_smoothing", kind="float", fraction=True, per_task=True),
    Option(
        "adversarial",
        "Also train on each text with its word embeddings moved this far (L2 norm) the way that hurts most; 0: off. "
        "Twice the work per step.",
        kind="float",
        minimum=0,
        per_task=True,
    ),
    Option(
        "device",
        "Where to train: auto is a CUDA GPU when torch sees one, else the CPU.",
        choices=CHOICES["device"],
        default="auto",
        run_only=True,
    ),
    Option(
        "nproc",
        "Train with this many processes on this machine (torchrun and DistributedDataParallel; each takes its part of "
        "every batch, so --batch-size is per process).",
        kind="int",
        minimum=1,
        run_only=True,
    ),
    Option(
        "share_cores",
        "When other rnnkit trainings run on this machine, take turns with them on the cores, a few steps at a time, "
        "instead of running side by side (where their threads get in each other's way); the weights are the same.",
        kind="switch",
        default=True,
        run_only=True,
    ),
    Option(
        "checkpoint_every",
        "Also write a checkpoint every N steps within an epoch, for long epochs.",
        auto="at each epoch's end",
        kind="int",
        minimum=1,
        run_only=True,
    ),
    Option("seed", kind="int", default=0),
    Option("out", "Run directory.", kind="dir", run_only=True, auto="runs/<data name>, numbered -2, -3 ... if taken"),
    Option(
        "overwrite",
        "Replace the finished model in --out, with its reports and logs (without it: refuse).",
        kind="flag",
        default=False,
        run_only=True,
    ),
    Option(
        "resume",
        "Continue the interrupted run in --out (or the latest one).",
        kind="flag",
        default=False,
        run_only=True,
    ),
    Option(
        "quiet",
        "No progress bar and no summary of the data; warnings still show.",
        kind="flag",
        default=False,
        short="-q",
        run_only=True,
    ),
)


def shared_option(name: str, **changes: Any) -> Option:
    """The shared option ``name`` with ``changes`` (a task's own ``auto``, say): the help and limits written once."""
    return replace(next(o for o in SHARED if o.name == name), **changes)


def all_options() -> dict[str, Option]:
    """Every option, by name: the shared ones, then each registered task's own. Two tasks may name an option alike
    (a column of their data) where only its help differs; ``rnnkit train --help`` shows the help of the task asked
    for (:func:`as_task_has`)."""
    found = {option.name: option for option in SHARED}
    for task in tasks.registered().values():
        for option in task.options:
            if option.name in found and replace(found[option.name], help=option.help, auto=option.auto) != option:
                raise ValueError(
                    f"task {task.name!r}: option {option.name!r} is another task's too, of another kind or limits"
                )
            if option.default not in (None, False):  # else every other task would be given it
                raise ValueError(f"task {task.name!r}: option {option.name!r} takes its default from the task's table")
            found[option.name] = option
    return found


def as_task_has(option: Option, task: str) -> Option:
    """``option`` as ``task`` has it (its help): the task's own option of that name, where it has one."""
    mine = [o for o in tasks.get(task).options if o.name == option.name] if task in tasks.names() else []
    return mine[0] if mine else option


def owners(name: str) -> tuple[str, ...]:
    """The tasks an option belongs to: every task for a shared option, unless its default is per task (then those
    whose defaults table names it); a task's own option, that task."""
    option = all_options()[name]
    if option in SHARED and not option.per_task:
        return tasks.names()
    return tuple(
        t.name for t in tasks.registered().values() if any(o.name == name for o in t.options) or name in t.defaults
    )


class TrainOptions:
    """Every option of ``rnnkit train``, for every task, as attributes. ``None`` means the task's default (its
    :attr:`~rnnkit.tasks.Task.defaults`), filled in by :meth:`resolve`; the defaults are the measured defaults
    (benchmarks/RESULTS.md). Unknown names are refused."""

    def __init__(self, **values: Any) -> None:
        known = all_options()
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise TypeError(f"unknown option(s) {unknown}; rnnkit.train takes {', '.join(known)}")
        for name, option in known.items():
            setattr(self, name, values.get(name, option.default))

    def to_dict(self) -> dict[str, Any]:
        """Every option by name, as JSON takes it."""
        return {name: getattr(self, name) for name in all_options()}

    def replace(self, **changes: Any) -> TrainOptions:
        """A copy with ``changes``."""
        return TrainOptions(**{**self.to_dict(), **changes})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TrainOptions) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        given = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if v is not None and v is not False)
        return f"TrainOptions({given})"

    @property
    def task_object(self) -> tasks.Task:
        return tasks.get(self.task)

    def resolve(self) -> TrainOptions:
        """Fill in the task's defaults; refuse an option that belongs to another task; paths given as ``Path``
        objects become strings, as the command line gives them (the options are saved as JSON). Returns ``self``."""
        for name, value in self.to_dict().items():
            if isinstance(value, os.PathLike):
                setattr(self, name, os.fspath(value))
            elif isinstance(value, list | tuple) and any(isinstance(v, os.PathLike) for v in value):
                setattr(self, name, [os.fspath(v) if isinstance(v, os.PathLike) else v for v in value])
        task = tasks.get(self.task)
        for name, option in all_options().items():
            if getattr(self, name) in (None, [], (), False) or name in ("task", *task.defaults):
                continue
            if option.name in {o.name for o in task.options} or (option in SHARED and not option.per_task):
                continue
            those = owners(name)
            raise RnnkitError(
                f"{option.flag} is an option of {listed(those)} models, not of --task {self.task}; remove it"
            )
        for name, value in task.resolve(self).items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        task.complete(self)
        self.check()
        return self

    def check(self) -> None:
        """Each value against its option (choices, ranges), then the task's checks of options together."""
        for name, option in all_options().items():
            value = getattr(self, name)
            if value is None or option.kind in ("flag", "switch"):
                continue
            if option.kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
                raise RnnkitError(f"{option.flag} must be a whole number, got {value!r}")
            if option.choices and value not in option.choices:
                raise RnnkitError(f"{option.flag} must be one of {', '.join(option.choices)}, got {value!r}")
            if option.fraction and not 0.0 <= value < 1.0:
                raise RnnkitError(f"{option.flag} must be in [0, 1), got {value}")
            if option.minimum is not None and value < option.minimum:
                raise RnnkitError(f"{option.flag} must be at least {option.minimum:g}, got {value}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise RnnkitError(f"--max-minutes must be positive, got {self.max_minutes}")
        if self.lr is not None and not self.lr > 0:
            raise RnnkitError(f"--lr must be positive, got {self.lr}")
        if self.subwords is not None and not 0 <= self.subwords <= MAX_SUBWORDS:
            raise RnnkitError(f"--subwords must be in 0..{MAX_SUBWORDS} hash buckets (0: none), got {self.subwords}")
        self.delimiter = parse_delimiter(self.delimiter)
        tasks.get(self.task).check(self)


def listed(names: tuple[str, ...] | list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} and {names[-1]}"


def resolved_defaults(task: str) -> TrainOptions:
    """The options a run of ``task`` takes when none is given: what ``rnnkit train --task TASK --help`` shows."""
    return TrainOptions(task=task).resolve()


# What a shell makes hard to type, by name.
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}


def parse_delimiter(value: str | None) -> str | None:
    """``--delimiter``: one character, or a name for one (``tab`` or ``\\t``, ``semicolon``, ``pipe`` ...)."""
    if value is None:
        return None
    delimiter = DELIMITER_NAMES.get(value.lower(), value)
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise RnnkitError(
            f"--delimiter must be one character (or {', '.join(DELIMITER_NAMES)}), not a quote or line break; "
            f"got {value!r}"
        )
    return delimiter
