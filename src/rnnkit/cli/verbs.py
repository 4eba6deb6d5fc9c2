"""What the shared verbs (``evaluate``, ``predict`` ...) do alike: take the options each task adds to them, load a
model for use, refuse in one line a model the verb does not apply to or an option of another task, and read texts
from the arguments, a file or standard input."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import click

from rnnkit import tasks
from rnnkit.errors import RnnkitError


def task_options(verb: str) -> dict[str, tuple[click.Option, list[str]]]:
    """The options the registered tasks add to ``verb``, by parameter name, with the tasks that take each."""
    found: dict[str, tuple[click.Option, list[str]]] = {}
    for task in tasks.registered().values():
        for option in task.verb_options(verb):
            if option.name in found:
                found[option.name][1].append(task.name)
            else:
                found[option.name] = (option, [task.name])
    return found


class VerbCommand(click.Command):
    """A shared verb whose options are its own and those the registered tasks add to it (made when asked for:
    a task registered later adds its own too)."""

    def __init__(self, *args: Any, verb: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.verb = verb

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        own = {p.name for p in self.params}
        added = [option for name, (option, _) in task_options(self.verb).items() if name not in own]
        help_option = self.get_help_option(ctx)
        return [*self.params, *added, *([help_option] if help_option is not None else [])]


def own_options(verb: str, task: tasks.Task, model: str, given: dict[str, Any]) -> dict[str, Any]:
    """The options of ``given`` that ``task`` takes for ``verb``; an option given that only other tasks take is
    refused in one line naming the model's task."""
    mine = {option.name for option in task.verb_options(verb)}
    for name, (option, owners) in task_options(verb).items():
        if name in mine:
            continue
        value = given.get(name)
        if value not in (None, False, (), option.default):
            kinds = " and ".join(tasks.get(owner).plural for owner in owners)
            raise RnnkitError(f"{option.opts[0]} is for {kinds}; {model} is {task.title}")
    return {name: value for name, value in given.items() if name in mine}


def load_for(verb: str, model: str) -> tuple[Any, tasks.Task]:
    """The model at ``model`` run by onnxruntime when it is installed (torch never imported: a fast start), else
    by torch, and its task; a model the verb does not apply to is refused in one line naming the verb that does."""
    from rnnkit.loading import load_for_use

    loaded = load_for_use(model)
    task = tasks.get(loaded.task)
    using = {other.verb for other in tasks.registered().values()}  # the verbs that use a model: predict, generate ...
    if verb in using and task.verb != verb:
        raise RnnkitError(f"{model} is {task.title}: use rnnkit {task.verb}")
    return loaded, task


def texts_of(texts: tuple[str, ...], file: str | None) -> Iterator[str]:
    """The texts of a command: its arguments, the lines of ``--file``, or standard input's lines as they come."""
    if texts and file:
        raise click.UsageError("give texts as arguments or with --file, not both")
    if texts:
        yield from texts
        return
    if file:
        from rnnkit.data.readers import read_text_file

        source: Any = read_text_file(file).splitlines()
    elif not sys.stdin.isatty():
        source = sys.stdin
    else:
        raise click.UsageError("give texts as arguments, with --file, or on standard input (one per line)")
    for line in source:
        yield line.rstrip("\n")
