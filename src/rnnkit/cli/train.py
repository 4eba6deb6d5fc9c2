"""``rnnkit train``: its options made from the one option table (:mod:`rnnkit.options`, and each registered task's
own), their help showing the defaults of the task on the command line, as training resolves them; so the help
cannot say a default that training does not use."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import click

from rnnkit import tasks
from rnnkit.options import SHARED, all_options, as_task_has, owners, resolved_defaults
from rnnkit.tasks import Option

KINDS: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "file": click.Path(dir_okay=False),
    "dir": click.Path(file_okay=False),
    "list": str,
}


def task_in(args: list[str]) -> str:
    """The task a command line asks for (``--task X``), before click parses it: ``--help`` shows its defaults."""
    for i, arg in enumerate(args):
        if arg == "--task" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--task="):
            return arg.split("=", 1)[1]
    return "classify"


def shown(value: Any) -> str:
    """A default as the help shows it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}" if value >= 10_000 else str(value)
    return str(value)


def default_note(option: Option, task: str, defaults: Any, table: dict[str, Any]) -> str | None:
    """What the help says of ``option``'s default for ``task``: the value training takes (``defaults``, resolved
    for ``task``, from the task's ``table`` or shared), what it depends on where neither gives one, or which tasks
    it belongs to; ``None`` for a flag that is off."""
    if defaults is None:
        return None
    if task not in owners(option.name):
        return f"for --task {' or '.join(owners(option.name))} only"
    value = getattr(defaults, option.name)
    if option.auto and (value is None or (option.per_task or option not in SHARED) and table.get(option.name) is None):
        return option.auto
    if value is None or (option.kind == "flag" and value is False):  # no limit (--max-minutes), or a flag off
        return None
    shared = option.default is not None
    return shown(value) if shared else f"{shown(value)} for --task {task}"


def click_option(option: Option, task: str, defaults: Any, table: dict[str, Any]) -> click.Option:
    """The command line's flag of ``option``, its help ending with the default for ``task`` (``defaults``)."""
    note = default_note(option, task, defaults, table)
    text = option.help + (f" [default: {note}]" if note else "")
    if option.name == "task":
        text = "What the model learns: " + "; ".join(f"{t.name}: {t.title}" for t in tasks.registered().values())
        text += "; a CoNLL-U file implies tag [default: classify]."
    names = [option.flag, *([option.short] if option.short else [])]
    if option.kind == "flag":
        return click.Option(names, is_flag=True, default=False, help=text)
    if option.kind == "switch":
        return click.Option([f"{option.flag}/--no-{option.flag[2:]}"], default=None, help=text)
    kind = click.Choice(tasks.names()) if option.name == "task" else KINDS[option.kind]
    kind = click.Choice(option.choices) if option.choices else kind
    return click.Option(names, type=kind, default=None, multiple=option.kind == "list", help=text)


class TrainCommand(click.Command):
    """``rnnkit train``, whose options are made when it is asked for them: from the option table and the tasks
    registered then, their help showing the defaults of the task on the command line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["task"] = task_in(args)
        return super().parse_args(ctx, args)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        task = ctx.meta.get("task", "classify")
        defaults = resolved_defaults(task) if task in tasks.names() else None
        table = tasks.get(task).resolve(defaults) if defaults is not None else {}
        made = [click_option(as_task_has(o, task), task, defaults, table) for o in all_options().values()]
        help_option = self.get_help_option(ctx)
        return [*self.params, *made, *([help_option] if help_option is not None else [])]


def given(options: dict[str, Any]) -> dict[str, Any]:
    """The options given on the command line, as ``rnnkit.train`` takes them: repeated ones as lists."""
    kinds = all_options()
    values = {}
    for name, value in options.items():
        if value is None or (isinstance(value, tuple) and not value):
            continue
        values[name] = list(value) if kinds[name].kind == "list" else value
    return values


@click.command(cls=TrainCommand)
@click.argument("data", nargs=-1, type=click.Path(dir_okay=False))
def train(data: tuple[str, ...], **options: Any) -> None:
    """Train a model on DATA and save it: a classifier (default: on the bundled AG News sample), with --task lm
    a language model, with --task tag a tagger.

    DATA is a CSV, TSV or JSONL file with a text and a label column, for --task lm one or more text files, for
    --task tag a CoNLL-U or token-per-line file. The model is saved in the run directory (see --out) and the test
    report, if there is a test set, is printed. `rnnkit train --task lm --help` shows the language model's
    defaults, `--task tag --help` the tagger's.
    """
    from rnnkit.api import train as train_model
    from rnnkit.training.trainer import TrainingInterrupted

    def terminated(signum: int, frame: object) -> None:  # outside the training loop, which stops at a step's end
        raise TrainingInterrupted(signum, "terminated")

    signal.signal(signal.SIGTERM, terminated)
    source = list(data) if len(data) > 1 else (data[0] if data else None)
    try:
        model = train_model(source, **given(options))
    except KeyboardInterrupt as stopped:
        signum = getattr(stopped, "signum", signal.SIGINT)  # a TrainingInterrupted says which signal stopped it
        kept = (
            "a checkpoint was written where it stopped"
            if getattr(stopped, "checkpointed", False)
            else "every checkpoint written is kept"
        )
        click.echo(
            f"\ninterrupted ({signal.Signals(signum).name}): {kept}; add --resume to the same command to continue",
            err=True,
        )
        sys.exit(128 + signum)
    if os.environ.get("RANK", "0") != "0":
        return  # under torchrun, process 0 reports for all
    members = model.training["members"]
    epochs = ", ".join(f"{m['best_epoch']} of {len(m['history'])}" for m in members)
    kind = f"an ensemble of {len(members)} networks" if len(members) > 1 else "one network"
    kept = "best epoch" if model.training.get("valid") else "no validation, so the last epoch"
    click.echo(f"model saved to {model.run_dir}  ({kind}; {kept} {epochs})")
    if model.training.get("out_of_time"):
        click.echo(f"stopped at --max-minutes {options['max_minutes']:g}, keeping the best epoch")
    for line in tasks.get(model.task).training_summary(model):
        click.echo(line)
