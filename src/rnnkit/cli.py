"""The ``rnnkit`` command: train, evaluate and predict, each a thin shell over the Python API.

Heavy imports (torch) happen inside the commands, so ``rnnkit --help`` answers at once. Bad input ends with
``error: <one line>`` on standard error and exit status 2; an interrupted training run says how to resume.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator

import click

from rnnkit.options import CHOICES, TrainOptions

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


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


class Group(click.Group):
    """Turns rnnkit's own errors into one line and exit status 2, wherever a command raises them, and shows its
    warnings as one line each."""

    def invoke(self, ctx: click.Context):
        from rnnkit.errors import RnnkitWarning

        warnings.showwarning = show_warning
        warnings.simplefilter("always", RnnkitWarning)
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except OSError as e:  # a file we cannot write or read: the system's reason, on one line
            fail(f"{e.filename}: {e.strerror}" if e.filename else str(e))
        except Exception as e:
            from rnnkit.errors import RnnkitError

            if isinstance(e, RnnkitError):
                fail(str(e))
            raise


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="rnnkit")
def main() -> None:
    """Recurrent neural networks for text classification.

    \b
    rnnkit train                                   train on the bundled AG News sample, print the test report
    rnnkit train data.csv --test test.csv          train on your labelled file (CSV, TSV or JSONL)
    rnnkit evaluate runs/data test.csv             accuracy, macro-F1, per-class table, confusion matrix
    rnnkit predict runs/data "some text"           label and probability for each text
    rnnkit export runs/data model.onnx             one ONNX file, checked against torch
    """


def text_read_options(f):
    f = click.option(
        "--format",
        "format_",
        type=click.Choice(["csv", "tsv", "jsonl", "agnews"]),
        help="File format; guessed from the extension (.csv, .tsv, .jsonl, .gz looked through).",
    )(f)
    f = click.option(
        "--delimiter",
        help="The field separator of a CSV file: one character, or tab, semicolon, pipe ... [default: sniffed "
        "from the header: , ; tab or |].",
    )(f)
    f = click.option(
        "--classes",
        type=click.Path(dir_okay=False),
        help="A file naming the classes, one per line; line 1 names label 0.",
    )(f)
    f = click.option("--label-column", help="The column holding the labels (default: label, class, category, ...).")(f)
    f = click.option(
        "--text-column",
        multiple=True,
        help="The column holding the text (default: text, sentence, review, ...); repeat to join several columns.",
    )(f)
    return f


D = TrainOptions()  # the defaults, said once


def choice(name: str) -> click.Choice:
    return click.Choice(CHOICES[name])


@main.command()
@click.argument("data", required=False, type=click.Path(dir_okay=False))
@click.option("--test", type=click.Path(dir_okay=False), help="A labelled file to report on after training.")
@click.option(
    "--valid-split",
    type=float,
    default=D.valid_split,
    show_default=True,
    help="Share of DATA held out to choose the best epoch.",
)
@text_read_options
@click.option(
    "--model",
    type=choice("model"),
    default=D.model,
    show_default=True,
    help="rnn: the recurrent network; bag: the order-blind bag-of-embeddings baseline.",
)
@click.option("--cell", type=choice("cell"), default=D.cell, show_default=True)
@click.option("--bidirectional/--no-bidirectional", default=D.bidirectional, show_default=True)
@click.option("--layers", type=int, default=D.layers, show_default=True, help="Stacked recurrent layers.")
@click.option("--hidden", type=int, default=D.hidden, show_default=True, help="Hidden state size per direction.")
@click.option("--embedding-dim", type=int, default=D.embedding_dim, show_default=True)
@click.option(
    "--vectors",
    type=click.Path(dir_okay=False),
    help="Start the embedding from pretrained word vectors in a local text file (word2vec, GloVe, fastText).",
)
@click.option("--pooling", type=choice("pooling"), default=D.pooling, show_default=True)
@click.option("--dropout", type=float, default=D.dropout, show_default=True)
@click.option(
    "--word-dropout",
    type=float,
    default=D.word_dropout,
    show_default=True,
    help="Share of training tokens replaced by <unk>, so unseen words are handled.",
)
@click.option(
    "--ensemble",
    type=int,
    default=D.ensemble,
    help="Networks trained from different seeds, their probabilities averaged "
    "[default: 5 below 20,000 training texts, else 1].",
)
@click.option(
    "--jobs",
    type=int,
    default=D.jobs,
    show_default=True,
    help="Ensemble members trained at once, each in a process of its own (2 on a 2-core CPU: about 1.4x faster).",
)
@click.option("--epochs", type=int, default=D.epochs, show_default=True, help="At most this many passes over DATA.")
@click.option(
    "--patience",
    type=int,
    default=D.patience,
    show_default=True,
    help="Stop after this many epochs without a better validation score.",
)
@click.option(
    "--metric",
    type=choice("metric"),
    default=D.metric,
    show_default=True,
    help="The validation score that picks the best epoch.",
)
@click.option("--batch-size", type=int, default=D.batch_size, show_default=True)
@click.option("--lr", type=float, default=D.lr, show_default=True, help="Peak learning rate of AdamW.")
@click.option(
    "--schedule",
    type=choice("schedule"),
    default=D.schedule,
    show_default=True,
    help="linear: 5% warm-up, then down to 0 at the last epoch; constant: --lr throughout.",
)
@click.option("--weight-decay", type=float, default=D.weight_decay, show_default=True)
@click.option(
    "--average",
    type=float,
    default=D.average,
    show_default=True,
    help="Decay of a moving average of the weights, which is what gets scored and kept (0: off).",
)
@click.option("--label-smoothing", type=float, default=D.label_smoothing, show_default=True)
@click.option(
    "--adversarial",
    type=float,
    default=D.adversarial,
    show_default=True,
    help="Also train on each text with its word embeddings moved this far (L2 norm) the way that hurts most; "
    "0: off. Twice the work per step.",
)
@click.option("--max-length", type=int, default=D.max_length, show_default=True, help="Tokens kept per text.")
@click.option(
    "--min-freq", type=int, default=D.min_freq, show_default=True, help="Words seen fewer times become <unk>."
)
@click.option("--max-vocab", type=int, default=D.max_vocab, show_default=True)
@click.option("--tokenizer", type=choice("tokenizer"), default=D.tokenizer, show_default=True)
@click.option("--lowercase/--no-lowercase", default=D.lowercase, show_default=True)
@click.option(
    "--backend",
    type=choice("backend"),
    default=D.backend,
    show_default=True,
    help="fused: torch's kernels (fast); explicit: the lesson's cell formulas in a loop (same numbers).",
)
@click.option("--seed", type=int, default=D.seed, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), help="Run directory [default: runs/<data name>].")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace the finished model in --out, with its reports and logs [default: refuse].",
)
@click.option("--resume", is_flag=True, help="Continue the interrupted run in --out (or the latest one).")
@click.option(
    "--strict", is_flag=True, help="Refuse empty texts and doubtful labels instead of skipping or warning about them."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary of the data; warnings still show.")
def train(data, test, format_, text_column, **options) -> None:
    """Train a classifier on DATA (default: the bundled AG News sample) and save it.

    DATA is a CSV, TSV or JSONL file with a text and a label column. The model is saved in the run directory
    (see --out) and the test report, if there is a test set, is printed.
    """
    from rnnkit.api import train as train_pipeline
    from rnnkit.training import format_report

    try:
        pipeline = train_pipeline(data, test=test, format=format_, text_column=list(text_column) or None, **options)
    except KeyboardInterrupt:
        click.echo(
            "\ninterrupted: every finished epoch is saved; add --resume to the same command to continue", err=True
        )
        sys.exit(EXIT_INTERRUPTED)
    members = pipeline.training["members"]
    epochs = ", ".join(f"{m['best_epoch']} of {len(m['history'])}" for m in members)
    kind = f"an ensemble of {len(members)} networks" if len(members) > 1 else "one network"
    click.echo(f"model saved to {pipeline.run_dir}  ({kind}; best epoch {epochs})")
    valid, always = pipeline.training["valid"], pipeline.training["valid_baseline"]
    if valid is not None:
        click.echo(
            f"validation: accuracy {valid['accuracy']:.4f}, macro-F1 {valid['macro_f1']:.4f} "
            f"(always {always['label']!r}: accuracy {always['accuracy']:.4f}, macro-F1 {always['macro_f1']:.4f})"
        )
    if pipeline.report is not None:
        click.echo(f"\ntest set {pipeline.report['source']}:")
        click.echo(format_report(pipeline.report))
    click.echo(f'\nnext: rnnkit predict {pipeline.run_dir} "some text"')


@main.command()
@click.argument("model", type=click.Path())
@click.argument("data", type=click.Path(dir_okay=False))
@text_read_options
@click.option("--report", type=click.Path(dir_okay=False), help="Also write the full report as JSON to this file.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --report file [default: refuse].")
def evaluate(model, data, format_, delimiter, text_column, label_column, classes, report, overwrite) -> None:
    """Evaluate MODEL on the labelled file DATA: accuracy, macro-F1, per-class figures, confusion matrix."""
    from pathlib import Path

    from rnnkit.data import read_class_names, read_examples
    from rnnkit.errors import RnnkitError
    from rnnkit.io import atomic_write_json
    from rnnkit.metrics import format_report
    from rnnkit.options import parse_delimiter

    if report and Path(report).exists() and not overwrite:
        raise RnnkitError(f"{report} exists: choose another --report file, or add --overwrite to replace it")
    pipeline = load_for_prediction(model)
    examples = read_examples(
        data,
        format=format_,
        delimiter=parse_delimiter(delimiter),
        text_columns=list(text_column) or None,
        label_column=label_column,
        label_names=read_class_names(classes) if classes else None,
    )
    result = pipeline.evaluate(examples)
    for line in (examples.summary(), *examples.notes):  # after any error, so that an error stays one line
        click.echo(line, err=True)
    click.echo(format_report(result))
    if report:
        atomic_write_json(report, result)
        click.echo(f"\nreport written to {report}")


def _texts(texts: tuple[str, ...], file: str | None) -> Iterator[str]:
    if texts and file:
        raise click.UsageError("give texts as arguments or with --file, not both")
    if texts:
        yield from texts
        return
    if file:
        from rnnkit.data.readers import read_text_file

        source = read_text_file(file).splitlines()
    elif not sys.stdin.isatty():
        source = sys.stdin
    else:
        raise click.UsageError("give texts as arguments, with --file, or on standard input (one per line)")
    for line in source:
        yield line.rstrip("\n")


def load_for_prediction(model: str):
    """The model, run by onnxruntime when it is installed (and torch never imported: a fast start), else torch.

    MODEL is a model directory or an ONNX file written by ``rnnkit export``, which runs on onnxruntime only.
    """
    from rnnkit.exported import is_exported, load_exported
    from rnnkit.runtime import load_onnx, onnxruntime_available

    if is_exported(model):
        return load_exported(model)
    if onnxruntime_available():
        return load_onnx(model)
    from rnnkit.pipeline import load

    return load(model, engine="torch")


@main.command()
@click.argument("model", type=click.Path())
@click.argument("texts", nargs=-1)
@click.option("--file", type=click.Path(dir_okay=False), help="Read texts from this file, one per line.")
@click.option("--top-k", type=click.IntRange(min=1), default=1, show_default=True, help="Labels shown per text.")
@click.option("--format", "format_", type=click.Choice(["text", "json", "tsv"]), default="text", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
def predict(model, texts, file, top_k, format_, batch_size) -> None:
    """Predict the label of each text: TEXTS as arguments, --file, or standard input (one text per line).

    MODEL is a model directory or an ONNX file written by 'rnnkit export'. Large inputs stream through in batches;
    each line gets its answer in the input's order, blank ones too (with a warning naming them).
    """
    from rnnkit.runtime import SHOWN, warn_blank

    pipeline = load_for_prediction(model)
    top_k = min(top_k, len(pipeline.labels))
    batch: list[str] = []
    count = blanks = 0
    first_blanks: list[int] = []  # numbered across the whole input, not within a batch

    def flush() -> None:
        probabilities = pipeline.predict_proba(batch, batch_size, warn=False)
        for text, row in zip(batch, probabilities, strict=True):
            best = row.argsort()[::-1][:top_k]
            pairs = [(pipeline.labels[i], float(row[i])) for i in best]
            if format_ == "json":
                click.echo(
                    json.dumps(
                        {"text": text, "labels": [{"label": k, "probability": round(p, 6)} for k, p in pairs]},
                        ensure_ascii=False,
                    )
                )
            elif format_ == "tsv":
                click.echo("\t".join(f"{k}\t{p:.4f}" for k, p in pairs))
            else:
                click.echo("  ".join(f"{k} {p:.3f}" for k, p in pairs) + (f"\t{text}" if len(texts) != 1 else ""))
        batch.clear()

    for text in _texts(texts, file):
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
    warn_blank(blanks, count, first_blanks, "text" if texts else "line")


@main.command()
@click.argument("model", type=click.Path(file_okay=False))
@click.argument("output", type=click.Path(dir_okay=False))
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="Run the graph with onnxruntime beside the torch network first; write nothing if they differ.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing OUTPUT [default: refuse].")
def export(model, output, check, overwrite) -> None:
    """Export MODEL as one ONNX file, OUTPUT: the network, with its labels, tokenizer and vocabulary as metadata.

    Inputs ids [batch, steps] (int64, padded with 0) and lengths [batch]; output probabilities [batch, classes].
    Needs onnx and onnxruntime (pip install 'rnnkit[onnx]'). 'rnnkit predict OUTPUT' runs it.
    """
    from rnnkit.export import TOLERANCE, export_onnx

    difference = export_onnx(model, output, check=check, overwrite=overwrite)
    checked = f"; onnxruntime matches torch to {difference:.1e} (allowed {TOLERANCE:.0e})" if check else ""
    click.echo(f"exported {model} to {output}{checked}")


if __name__ == "__main__":  # pragma: no cover
    main()
