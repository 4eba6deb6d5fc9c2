"""The ``rnnkit`` command: each verb a thin shell over the Python API.

The verbs every task shares live here (``train``, ``evaluate``, ``predict``, ``export``, ``inspect``, ``serve``);
a task adds its own (a language model's ``generate``, a translator's ``translate``) and its options to shared verbs
from its package (``rnnkit.tasks.<name>.cli``), found through the registry. A verb given a model it does not apply
to says so in one line, naming the verb that does.

Heavy imports (torch) happen inside the commands, so ``rnnkit --help`` answers at once. Bad input ends with
``error: <one line>`` on standard error and exit status 2; an interrupted training run says how to resume.
"""

from __future__ import annotations

import sys
import warnings
from importlib import import_module
from typing import Any

import click

from rnnkit import tasks

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
# The verbs every task shares, in the order the help lists them, and where each is written.
SHARED_VERBS = {
    "train": "rnnkit.cli.train",
    "evaluate": "rnnkit.cli.evaluate",
    "predict": "rnnkit.cli.predict",
    "inspect": "rnnkit.cli.inspect",
    "serve": "rnnkit.cli.serve",
    "export": "rnnkit.cli.export",
}


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """rnnkit's warnings as ``warning: <message>`` on standard error; others as Python shows them."""
    from rnnkit.errors import RnnkitWarning

    if issubclass(category, RnnkitWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        click.echo(warnings.formatwarning(message, category, filename, lineno, line).rstrip("\n"), err=True)


def task_verbs() -> dict[str, click.Command]:
    """The verbs the registered tasks add (``rnnkit generate``, ``rnnkit translate`` ...), by name."""
    found: dict[str, click.Command] = {}
    for task in tasks.registered().values():
        for command in task.commands():
            found.setdefault(command.name, command)
    return found


class Group(click.Group):
    """The verbs, shared and the tasks' own; turns rnnkit's own errors into one line and exit status 2, wherever a
    command raises them, and shows its warnings as one line each."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*SHARED_VERBS, *(name for name in task_verbs() if name not in SHARED_VERBS)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in SHARED_VERBS:
            return getattr(import_module(SHARED_VERBS[name]), name)
        return task_verbs().get(name)

    def invoke(self, ctx: click.Context) -> Any:
        from rnnkit.errors import RnnkitError, RnnkitWarning

        warnings.showwarning = show_warning
        warnings.simplefilter("always", RnnkitWarning)
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except OSError as e:  # a file we cannot write or read: the system's reason, on one line
            fail(f"{e.filename}: {e.strerror}" if e.filename else str(e))
        except RnnkitError as e:
            fail(str(e))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="rnnkit")
def main() -> None:
    """Recurrent neural networks for text: classifiers, language models, taggers and translators.

    \b
    rnnkit train                                   train on the bundled AG News sample, print the test report
    rnnkit train data.csv --test test.csv          train on your labelled file (CSV, TSV or JSONL)
    rnnkit train corpus.txt --task lm              a character language model of your text
    rnnkit train train.conllu                      a tagger: a tag for every token
    rnnkit evaluate runs/data test.csv             accuracy, macro-F1, ...; perplexity; tag accuracy; BLEU
    rnnkit predict runs/data "some text"           label and probability for each text, or each token's tag
    rnnkit generate runs/corpus --prompt "ROMEO:"  text from a language model
    rnnkit inspect runs/data "some text"           the network's state, gates and prediction, token by token
    rnnkit serve runs/data                         a web page and an HTTP API at http://127.0.0.1:8000/
    rnnkit export runs/data model.onnx             one ONNX file, checked against torch
    """
