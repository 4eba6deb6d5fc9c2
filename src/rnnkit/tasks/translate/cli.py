"""A translator on the command line: its own verb, ``rnnkit translate``, and what it adds to ``rnnkit evaluate``
(the beam, the columns of a CSV or JSONL file of pairs)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import click

from rnnkit.errors import RnnkitError

COLUMNS = [
    click.Option(["--source-column"], help="A translator's source column of a CSV or JSONL file [default: source]."),
    click.Option(["--target-column"], help="A translator's reference column of a CSV or JSONL file [default: target]."),
]
OPTIONS = {
    "evaluate": [
        click.Option(["--beam"], type=click.IntRange(min=1), help="A translator's beam width [default: as trained]."),
        *COLUMNS,
    ]
}
LINES_AT_ONCE = 64  # sentences read from a file or standard input before they are translated together


def evaluate(
    model: Any, data: str, beam: int | None = None, source_column: str | None = None, target_column: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """BLEU and chrF of the translator on a file of pairs, and the line that says what was read."""
    from rnnkit.tasks.translate.data import read_pairs

    pairs = read_pairs(data, source_column=source_column, target_column=target_column)
    return model.evaluate(pairs, beam), [pairs.summary()]


def chunks(lines: Iterator[str], size: int = LINES_AT_ONCE) -> Iterator[list[str]]:
    """``lines`` a few at a time, so that a translation is written as soon as its batch is done."""
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@click.command()
@click.argument("model", type=click.Path())
@click.argument("texts", nargs=-1)
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False), help="Translate each line of this file.")
@click.option("--beam", type=click.IntRange(min=1), help="Beam width; 1: greedy [default: as trained, 5].")
@click.option("--n-best", type=click.IntRange(min=1), default=1, show_default=True,
              help="Write each text's N best translations with their scores (JSON lines); at most --beam.")  # fmt: skip
@click.option("--format", "format_", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one translation per line; json: one object per line with the source.")  # fmt: skip
def translate(
    model: str, texts: tuple[str, ...], file: str | None, beam: int | None, n_best: int, format_: str
) -> None:
    """Translate TEXTS (or the lines of --file, or of standard input) with the translator MODEL, one translation
    per line, in order; a blank line gives a blank line.

    A model directory or an exported .onnx file; runs on onnxruntime when it is installed (no torch), else on torch.
    """
    from rnnkit.cli.verbs import load_for, texts_of

    translator, _ = load_for("translate", model)
    width = translator.decoding.beam if beam is None else beam
    if n_best > width:
        raise RnnkitError(f"--n-best {n_best} is more than the beam holds ({width}): raise --beam to at least {n_best}")
    for chunk in chunks(texts_of(texts, file)):
        found = translator.translate(chunk, width, n_best)
        for text, translation in zip(chunk, found, strict=True):
            if n_best > 1:
                best = [{"translation": t.text, "score": round(t.score, 4)} for t in translation]
                click.echo(json.dumps({"source": text, "translations": best}, ensure_ascii=False))
            elif format_ == "json":
                click.echo(json.dumps({"source": text, "translation": translation}, ensure_ascii=False))
            else:
                click.echo(translation)
        sys.stdout.flush()


COMMANDS = [translate]
