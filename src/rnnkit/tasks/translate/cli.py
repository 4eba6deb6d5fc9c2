"""A translator on the command line: its own verb, ``rnnkit translate``, and what it adds to ``rnnkit evaluate``
(the beam, each sentence's translation in the report, the columns of a CSV or JSONL file of pairs)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from rnnkit.errors import RnnkitError

OPTIONS = {
    "evaluate": [
        click.Option(["--beam"], type=click.IntRange(min=1), help="A translator's beam width [default: as trained]."),
        click.Option(
            ["--per-sentence"], is_flag=True, help="A translator's --report also holds each source, its translation "
            "and its references."
        ),  # fmt: skip
        click.Option(["--source-column"], help="A translator's sources' column of a CSV or JSONL file [default: "
                     "source]."),  # fmt: skip
        click.Option(["--target-column"], help="A translator's references' column of a CSV or JSONL file [default: "
                     "target]."),  # fmt: skip
    ]
}
LINES_AT_ONCE = 64  # lines of a file (or arguments) translated together: batches of similar lengths
READ_BYTES = 1 << 16


def evaluate(
    model: Any,
    data: str,
    beam: int | None = None,
    per_sentence: bool = False,
    source_column: str | None = None,
    target_column: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """BLEU and chrF of the translator on a file of pairs, and the line that says what was read."""
    from rnnkit.tasks.translate.data import read_pairs

    pairs = read_pairs(data, source_column=source_column, target_column=target_column)
    return model.evaluate(pairs, beam, per_sentence), [pairs.summary()]


def in_chunks(lines: Iterator[str], size: int = LINES_AT_ONCE) -> Iterator[list[str]]:
    """``lines`` ``size`` at a time."""
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def as_they_come(fd: int, size: int = LINES_AT_ONCE) -> Iterator[list[str]]:
    """The lines of the file descriptor ``fd`` (standard input), in chunks of those that have arrived: a pipe that
    sends one line and waits for its translation gets it, and a file poured in is translated ``size`` lines at a
    time. Each read blocks only until something arrives; the last line needs no line break."""
    pending = b""
    while True:
        data = os.read(fd, READ_BYTES)
        if not data:
            break
        pending += data
        *complete, pending = pending.split(b"\n")
        lines = [line.removesuffix(b"\r").decode("utf-8", "replace") for line in complete]
        for start in range(0, len(lines), size):
            yield lines[start : start + size]
    if pending:
        yield [pending.removesuffix(b"\r").decode("utf-8", "replace")]


def sources(texts: tuple[str, ...], file: str | None) -> Iterator[list[str]]:
    """What to translate, in chunks: the arguments, the lines of ``--file``, or standard input as it comes."""
    from rnnkit.cli.verbs import texts_of

    if not texts and not file and not sys.stdin.isatty():
        return as_they_come(sys.stdin.fileno())
    return in_chunks(texts_of(texts, file))


def lines_out(chunk: list[str], found: list[Any], n_best: int, format_: str) -> Iterator[str]:
    """Each text's answer as one line: the translation, or a JSON object (``--format json``, ``--n-best``)."""
    for text, translation in zip(chunk, found, strict=True):
        if n_best > 1:
            best = [{"translation": t.text, "score": round(t.score, 4)} for t in translation]
            yield json.dumps({"source": text, "translations": best}, ensure_ascii=False)
        elif format_ == "json":
            yield json.dumps({"source": text, "translation": translation}, ensure_ascii=False)
        else:
            yield translation


@click.command()
@click.argument("model", type=click.Path())
@click.argument("texts", nargs=-1)
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False), help="Translate each line of this file.")
@click.option("--output", type=click.Path(dir_okay=False), help="Write the translations to this file (written whole "
              "at the end, never half) [default: standard output].")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace an existing --output file [default: refuse].")
@click.option("--beam", type=click.IntRange(min=1), help="Beam width; 1: greedy [default: as trained, 5].")
@click.option("--n-best", type=click.IntRange(min=1), default=1, show_default=True,
              help="Write each text's N best translations with their scores (JSON lines); at most --beam.")  # fmt: skip
@click.option("--format", "format_", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one translation per line; json: one object per line with the source.")  # fmt: skip
def translate(
    model: str, texts: tuple[str, ...], file: str | None, output: str | None, overwrite: bool, beam: int | None,
    n_best: int, format_: str,
) -> None:  # fmt: skip
    """Translate TEXTS (or the lines of --file, or of standard input as they come) with the translator MODEL: one
    line out per line in, in order; a blank line gives a blank line.

    MODEL is a model directory or an exported .onnx file; it runs on onnxruntime when that is installed (no torch),
    else on torch.
    """
    from rnnkit.cli.verbs import load_for
    from rnnkit.io import atomic_writer

    if output and Path(output).exists() and not overwrite:
        raise RnnkitError(f"{output} exists: choose another --output file, or add --overwrite to replace it")
    translator, _ = load_for("translate", model)
    width = translator.decoding.beam if beam is None else beam
    if n_best > width:
        raise RnnkitError(f"--n-best {n_best} is more than the beam holds ({width}): raise --beam to at least {n_best}")
    chunks = sources(texts, file)
    if output is None:
        for chunk in chunks:
            for line in lines_out(chunk, translator.translate(chunk, width, n_best), n_best, format_):
                click.echo(line)
            sys.stdout.flush()
        return
    count = 0
    with atomic_writer(output) as out:
        for chunk in chunks:
            for line in lines_out(chunk, translator.translate(chunk, width, n_best), n_best, format_):
                out.write((line + "\n").encode("utf-8"))
            count += len(chunk)
    click.echo(f"{count:,} translations written to {output}", err=True)


COMMANDS = [translate]
