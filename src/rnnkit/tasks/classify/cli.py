"""A classifier on the command line: what it adds to ``rnnkit predict`` (``--top-k``) and ``rnnkit evaluate`` (how
to read a labelled file), and how it runs them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import click

from rnnkit.options import CHOICES

OPTIONS = {
    "predict": [
        click.Option(
            ["--top-k"], type=click.IntRange(min=1), default=1, show_default=True, help="Labels shown per text."
        )
    ],
    "evaluate": [
        click.Option(
            ["--format", "format_"],
            type=click.Choice(CHOICES["format"]),
            help="A classifier's file format; guessed from the extension (.csv, .tsv, .jsonl, .gz looked through).",
        ),
        click.Option(
            ["--delimiter"],
            help="The field separator of a CSV file: one character, or tab, semicolon, pipe ... [default: sniffed "
            "from the header: , ; tab or |].",
        ),
        click.Option(
            ["--text-column"],
            multiple=True,
            help="The column holding the text [default: the training file's, if this file has it; else text, "
            "sentence, review, ...]; repeat to join several columns.",
        ),
        click.Option(
            ["--label-column"],
            help="The column holding the labels [default: the training file's, if this file has it; else label, "
            "class, category, ...].",
        ),
        click.Option(
            ["--classes"],
            type=click.Path(dir_okay=False),
            help="A file naming the classes, one per line; line 1 names label 0.",
        ),
    ],
}


def evaluate(
    model: Any,
    data: str,
    format_: str | None = None,
    delimiter: str | None = None,
    text_column: tuple[str, ...] = (),
    label_column: str | None = None,
    classes: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The classifier's report on a labelled file, and the lines that say what was read."""
    from rnnkit.data import read_class_names, read_examples
    from rnnkit.options import parse_delimiter

    examples = read_examples(
        data,
        format=format_,
        delimiter=parse_delimiter(delimiter),
        text_columns=list(text_column) or None,
        label_column=label_column,
        label_names=read_class_names(classes) if classes else None,
        trained_on=model.data_columns,  # the training file's columns, where this file has them
    )
    return model.evaluate(examples), [examples.summary(), *examples.notes]


def predict(
    model: Any,
    lines: Callable[[], Iterator[str]],
    format_: str,
    batch_size: int,
    top_k: int = 1,
    **given: Any,
) -> None:
    """``rnnkit predict`` for a classifier: each text's ``top_k`` labels and probabilities, as text, JSON or TSV,
    in batches as the input streams in; blank lines answered too, and said in one warning."""
    from rnnkit.runtime import SHOWN, warn_blank, warn_truncated

    top_k = min(top_k, len(model.labels))
    one = len(given.get("texts") or ()) == 1
    batch: list[str] = []
    count = blanks = 0
    first_blanks: list[int] = []  # numbered across the whole input, not within a batch
    cut_texts = cut_tokens = 0  # texts longer than the model's max_length, and their tokens beyond it
    first_cut: list[int] = []

    def flush() -> None:
        nonlocal cut_texts, cut_tokens
        probabilities, truncated = model.predict_proba_truncated(batch, batch_size)
        first_number = count - len(batch) + 1  # the batch's first text, numbered across the whole input
        for offset, (text, row, beyond) in enumerate(zip(batch, probabilities, truncated, strict=True)):
            best = row.argsort()[::-1][:top_k]
            pairs = [(model.labels[i], float(row[i])) for i in best]
            if beyond:
                cut_texts, cut_tokens = cut_texts + 1, cut_tokens + int(beyond)
                if len(first_cut) < SHOWN:
                    first_cut.append(first_number + offset)
            if format_ == "json":
                answer = {"text": text, "labels": [{"label": k, "probability": round(p, 6)} for k, p in pairs]}
                if beyond:
                    answer["truncated"] = int(beyond)  # tokens beyond the model's max_length, not read
                click.echo(json.dumps(answer, ensure_ascii=False))
            elif format_ == "tsv":
                click.echo("\t".join(f"{k}\t{p:.4f}" for k, p in pairs))
            else:
                click.echo("  ".join(f"{k} {p:.3f}" for k, p in pairs) + ("" if one else f"\t{text}"))
        batch.clear()

    for text in lines():
        count += 1
        if not text.strip():
            blanks += 1
            if len(first_blanks) < SHOWN:
                first_blanks.append(count)
        batch.append(text)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    unit = "text" if given.get("texts") else "line"
    warn_blank(blanks, count, first_blanks, unit)
    warn_truncated(cut_texts, count, first_cut, cut_tokens, model.max_length, unit)
