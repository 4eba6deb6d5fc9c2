"""``rnnkit inspect``: see inside a model as it reads a text, token by token, or find the units that track a
property of many texts; whatever the task, which says what its reading shows."""

from __future__ import annotations

import click


@click.command()
@click.argument("model", type=click.Path())
@click.argument("text", required=False)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Write the page, the figure and the JSON into this directory (created if missing; nothing in it is "
    "overwritten) [default: a summary on standard output].",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(["png", "html", "json"]),
    help="What to write into --out (repeat for several) [default: all three]; without --out, json prints the JSON.",
)
@click.option("--member", type=click.IntRange(min=1), help="Only this member of an ensemble (from 1) [default: each].")
@click.option(
    "--units",
    "units_file",
    type=click.Path(dir_okay=False),
    help="Find the units whose activation tracks a property of the texts of FILE (one per line; running text for "
    "a language model) instead of inspecting TEXT.",
)
@click.option(
    "--max-tokens", type=click.IntRange(min=1), default=20_000, show_default=True, help="Tokens read with --units."
)
def inspect(model, text, out, formats, member, units_file, max_tokens) -> None:
    """See inside MODEL as it reads TEXT, token by token.

    \b
    The prediction after each token (a classifier), each token's tag distribution (a tagger) or the probability
    of what follows (a language model); the hidden state, the LSTM cell state and the gates at every token; and,
    for a classifier, which tokens mattered (occlusion and integrated gradients). With --units FILE, the units
    that track a property of the text: quotes, position in the line, brackets (a language model), the class or
    the tag (a classifier, a tagger).

    \b
    rnnkit inspect runs/reviews "not a good film"                 a table on standard output
    rnnkit inspect runs/reviews "not a good film" --out inspect/  page (.html), figure (.png), numbers (.json)
    rnnkit inspect runs/shakespeare --units corpus.txt --out units/
    """
    from rnnkit.errors import RnnkitError
    from rnnkit.exported import is_exported

    if (text is None) == (units_file is None):
        raise click.UsageError("give a TEXT to inspect, or --units FILE, not both")
    if is_exported(model):
        raise RnnkitError(f"{model} is an exported file: inspect needs the model directory (its torch network)")
    if out is None and set(formats) - {"json"}:
        raise RnnkitError("--format png and html are files: give --out DIR")
    chosen = formats or ("png", "html", "json")
    from rnnkit.plots import plots_available

    if "png" in chosen and not plots_available():
        if formats:
            raise RnnkitError("the PNG figure needs matplotlib: pip install 'rnnkit[plots]'")
        chosen = tuple(f for f in chosen if f != "png")
        click.echo("note: the PNG figure needs matplotlib (pip install 'rnnkit[plots]'); writing the rest", err=True)
    from rnnkit import tasks
    from rnnkit.loading import load

    pipeline = load(model, engine="torch")
    if units_file:
        texts = tasks.get(pipeline.task).unit_texts(units_file)
        report = pipeline.find_units(texts, member, max_tokens)
    else:
        report = pipeline.inspect(text, member)
    if out is None:
        click.echo(report.to_json() if formats else report.summary())
        return
    click.echo(report.summary())
    for path in report.save(out, chosen):
        click.echo(f"wrote {path}")
