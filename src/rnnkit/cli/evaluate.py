"""``rnnkit evaluate``: a model's figures on a file, whatever its task: the task reads the file (with the options it
adds to this verb) and says how its report is printed and drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rnnkit import tasks
from rnnkit.cli.verbs import VerbCommand, load_for, own_options


@click.command(cls=VerbCommand, verb="evaluate")
@click.argument("model", type=click.Path())
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--report", type=click.Path(dir_okay=False), help="Also write the full report as JSON to this file.")
@click.option(
    "--plots",
    type=click.Path(file_okay=False),
    help="Also draw the report's figures into this directory, made if missing: a classifier's or a tagger's confusion "
    "matrix (confusion.png) and F1 per class (f1.png). Needs matplotlib (pip install 'rnnkit[plots]').",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing --report file or --plots files [default: refuse].")
def evaluate(model: str, data: str, report: str | None, plots: str | None, overwrite: bool, **options: Any) -> None:
    """Evaluate MODEL on DATA: for a classifier, a labelled file (accuracy, macro-F1, per-class figures, confusion
    matrix); for a language model, a text file (loss, perplexity, bits per character); for a tagger, a tagged file
    (token accuracy, accuracy on unseen words, per-tag figures, and entity figures for BIO/BIOES tags)."""
    from rnnkit.errors import RnnkitError
    from rnnkit.io import atomic_write_bytes, atomic_write_json
    from rnnkit.plots import INSTALL, plots_available, png

    if report and Path(report).exists() and not overwrite:
        raise RnnkitError(f"{report} exists: choose another --report file, or add --overwrite to replace it")
    if plots and not plots_available():  # refused before the model is run, as --report is
        raise RnnkitError(f"--plots needs matplotlib: {INSTALL}")
    loaded, task = load_for("evaluate", model)
    chosen = own_options("evaluate", task, model, options)
    if plots:
        if not task.evaluation_plots:
            drawn = " and ".join(other.plural for other in tasks.registered().values() if other.evaluation_plots)
            raise RnnkitError(f"--plots is for {drawn}; {model} is {task.title}")
        for name in task.evaluation_plots:
            if (Path(plots) / name).exists() and not overwrite:
                raise RnnkitError(
                    f"{Path(plots) / name} exists: choose another --plots directory, or add --overwrite to replace it"
                )
    result, lines = task.evaluate(loaded, data, **chosen)
    for line in lines:  # after any error, so that an error stays one line
        click.echo(line, err=True)
    click.echo(task.format_report(result))
    if report:
        atomic_write_json(report, result)
        click.echo(f"\nreport written to {report}")
    if plots:
        written = []
        for name, figure in task.evaluation_figures(result).items():
            atomic_write_bytes(Path(plots) / name, png(figure))
            written.append(str(Path(plots) / name))
        click.echo(f"\nplots written to {', '.join(written)}")
