"""``rnnkit predict``: a classifier's labels or a tagger's tags, whatever task answers with them: the task runs the
texts (with the options it adds to this verb) and prints its answers."""

from __future__ import annotations

from typing import Any

import click

from rnnkit.cli.verbs import VerbCommand, load_for, own_options, texts_of


@click.command(cls=VerbCommand, verb="predict")
@click.argument("model", type=click.Path())
@click.argument("texts", nargs=-1)
@click.option("--file", type=click.Path(dir_okay=False), help="Read texts from this file, one per line.")
@click.option("--format", "format_", type=click.Choice(["text", "json", "tsv"]), default="text", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
def predict(
    model: str, texts: tuple[str, ...], file: str | None, format_: str, batch_size: int, **options: Any
) -> None:
    """Predict the label of each text, or a tagger's tag of each token: TEXTS as arguments, --file, or standard
    input (one text per line).

    MODEL is a model directory or an ONNX file written by 'rnnkit export'. Large inputs stream through in batches;
    each line gets its answer in the input's order, blank ones too (with a warning naming them). A tagger splits
    raw text into tokens as its training data was split (--pretokenized: at spaces), and with --output tags a
    whole CoNLL-U or token-per-line --file into a new file.
    """
    loaded, task = load_for("predict", model)
    chosen = own_options("predict", task, model, options)
    task.predict(loaded, lambda: texts_of(texts, file), format_, batch_size, texts=texts, file=file, **chosen)
