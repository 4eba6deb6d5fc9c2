"""A tagger on the command line: what it adds to ``rnnkit predict`` (tokens given split, a tagged copy of a whole
file) and ``rnnkit evaluate`` (the gold tags' column), and how it runs them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import click

from rnnkit.errors import RnnkitError

OPTIONS = {
    "predict": [
        click.Option(["--pretokenized"], is_flag=True, help="A tagger's sentences are already split into tokens by "
                     "spaces."),  # fmt: skip
        click.Option(
            ["--output"],
            type=click.Path(dir_okay=False),
            help="A tagger writes a tagged copy of --file (CoNLL-U or token per line, tagged or not) to this file.",
        ),
        click.Option(
            ["--tag-column"], help="With --output: the column to fill in [default: upos, or a token file's last]."
        ),
        click.Option(["--overwrite"], is_flag=True, help="Replace an existing --output file [default: refuse]."),
    ],
    "evaluate": [
        click.Option(
            ["--tag-column"], help="A tagger's gold tags: a CoNLL-U column name or a token file's column number."
        ),
    ],
}


def evaluate(model: Any, data: str, tag_column: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """The tagger's report on a tagged file, and the line that says what was read."""
    from rnnkit.data.tagged import read_tagged

    corpus = read_tagged(data, tag_column=tag_column)
    return model.evaluate(corpus), [corpus.summary()]


def predict(
    tagger: Any,
    lines: Callable[[], Iterator[str]],
    format_: str,
    batch_size: int,
    pretokenized: bool = False,
    output: str | None = None,
    tag_column: str | None = None,
    overwrite: bool = False,
    **given: Any,
) -> None:
    """``rnnkit predict`` for a tagger: sentences in, ``token/TAG`` out (or JSON, or token-per-line TSV); with
    ``--output``, a tagged copy of a CoNLL-U or token-per-line file."""
    if output:
        if not given.get("file") or given.get("texts"):
            raise RnnkitError("--output tags a whole file: give it with --file (CoNLL-U or token per line)")
        corpus = tagger.tag_file(given["file"], output, tag_column=tag_column, overwrite=overwrite)
        click.echo(f"{corpus.summary()}; tagged copy written to {output}", err=True)
        return
    if tag_column:
        raise RnnkitError("--tag-column names the column to fill in a tagged file: give it with --file and --output")
    from rnnkit.tasks.tag.tagger import BATCH_TOKENS

    batch: list[list[str]] = []
    pending = 0  # tokens in the batch: long lines go to the tagger a few at a time, so memory stays bounded

    def flush() -> None:
        for tokens, tags in zip(batch, tagger.tag(batch, batch_size), strict=True):
            if format_ == "json":
                click.echo(json.dumps({"tokens": tokens, "tags": tags}, ensure_ascii=False))
            elif format_ == "tsv":
                click.echo("".join(f"{token}\t{tag}\n" for token, tag in zip(tokens, tags, strict=True)))
            else:
                click.echo(" ".join(f"{token}/{tag}" for token, tag in zip(tokens, tags, strict=True)))
        batch.clear()

    for text in lines():
        batch.append(text.split() if pretokenized else tagger.tokenize(text))
        pending += len(batch[-1])
        if len(batch) >= batch_size or pending >= BATCH_TOKENS:
            flush()
            pending = 0
    if batch:
        flush()
