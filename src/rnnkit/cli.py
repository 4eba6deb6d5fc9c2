"""The ``rnnkit`` command: train, evaluate and predict, each a thin shell over the Python API.

Heavy imports (torch) happen inside the commands, so ``rnnkit --help`` answers at once. Bad input ends with
``error: <one line>`` on standard error and exit status 2; an interrupted training run says how to resume.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import warnings
from collections.abc import Iterator

import click

from rnnkit.options import CHOICES, TASK_DEFAULTS, TASK_ONLY, TASKS, TrainOptions
from rnnkit.tasks import TASK_TITLES

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
    """Recurrent neural networks for text: classifiers and language models.

    \b
    rnnkit train                                   train on the bundled AG News sample, print the test report
    rnnkit train data.csv --test test.csv          train on your labelled file (CSV, TSV or JSONL)
    rnnkit train corpus.txt --task lm              a character language model of your text
    rnnkit evaluate runs/data test.csv             accuracy, macro-F1, ...; a language model's perplexity
    rnnkit predict runs/data "some text"           label and probability for each text
    rnnkit generate runs/corpus --prompt "ROMEO:"  text from a language model
    rnnkit inspect runs/data "some text"           the network's state, gates and prediction, token by token
    rnnkit serve runs/data                         a web page and an HTTP API at http://127.0.0.1:8000/
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


D = TrainOptions()  # the defaults that every task shares, said once; the others are in TASK_DEFAULTS


def choice(name: str) -> click.Choice:
    return click.Choice(CHOICES[name])


def task_in(args: list[str]) -> str:
    """The task a command line asks for (``--task X``), before click parses it: ``--help`` shows its defaults."""
    for i, arg in enumerate(args):
        if arg == "--task" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--task="):
            return arg.split("=", 1)[1]
    return "classify"


class TrainCommand(click.Command):
    """``rnnkit train``, whose help shows the defaults of the task on its command line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["task"] = task_in(args)
        return super().parse_args(ctx, args)


class TaskOption(click.Option):
    """An option whose default depends on the task: shown as that task's default, or as another task's option."""

    def get_help_record(self, ctx: click.Context):
        task = ctx.meta.get("task", "classify")
        defaults = TASK_DEFAULTS.get(task, {})
        if self.name in defaults:
            value = defaults[self.name]
            shown = ("on" if value else "off") if isinstance(value, bool) else value
            self.show_default = f"{shown} for --task {task}" if value is not None else False
        elif self.name in TASK_ONLY:
            self.show_default = f"for --task {' or '.join(TASK_ONLY[self.name])} only"
        return super().get_help_record(ctx)


def task_option(*names: str, **kwargs) -> click.Option:
    return click.option(*names, cls=TaskOption, default=None, **kwargs)


@main.command(cls=TrainCommand)
@click.argument("data", nargs=-1, type=click.Path(dir_okay=False))
@click.option(
    "--task",
    type=click.Choice(TASKS),
    default=D.task,
    show_default=True,
    help="classify: a label per text; lm: a language model of running text (one or more text files); tag: a label "
    "per token (CoNLL-U or token-per-line files; a .conllu file implies it).",
)
@click.option(
    "--preset",
    type=choice("preset"),
    help="A classifier's set of defaults: fast, one adversarially trained network reading sub-words (10,000 "
    "buckets); accurate, five networks without sub-words averaged below 20,000 training texts (about 4.5 times "
    "the time) [default: fast]. Options given still win.",
)
@click.option("--test", type=click.Path(dir_okay=False), help="A file to report on after training.")
@click.option("--valid", type=click.Path(dir_okay=False), help="A validation file [default: a cut of DATA].")
@click.option(
    "--valid-split",
    type=float,
    default=D.valid_split,
    show_default=True,
    help="Share of DATA held out to choose the best epoch (a language model holds out the end of its text).",
)
@text_read_options
@task_option(
    "--model",
    type=choice("model"),
    help="rnn: the recurrent network; bag: the order-blind bag-of-embeddings baseline.",
)
@click.option("--cell", type=choice("cell"), default=D.cell, show_default=True)
@task_option("--bidirectional/--no-bidirectional")
@task_option("--layers", type=int, help="Stacked recurrent layers.")
@task_option("--hidden", type=int, help="Hidden state size per direction.")
@task_option("--embedding-dim", type=int)
@task_option(
    "--vectors",
    type=click.Path(dir_okay=False),
    help="Start the embedding from pretrained word vectors in a local text file (word2vec, GloVe, fastText).",
)
@task_option(
    "--subwords",
    type=int,
    help="Hash buckets of the words' character n-grams (3 to 6 characters), whose mean vector is added to each "
    "word's embedding: unseen and rare words are read from their pieces (fastText's way); 0: none.",
)
@click.option(
    "--pretrain",
    is_flag=True,
    help="First train a language model of the texts (forward and backward for a bidirectional encoder), then "
    "fine-tune its body as the classifier's; its vocabulary becomes the classifier's.",
)
@click.option(
    "--unlabeled",
    type=click.Path(dir_okay=False),
    help="Unlabelled texts, for --pretrain's language model and for --self-train: one per line, or the text column "
    "of a CSV, TSV or JSONL file.",
)
@task_option("--pretrain-epochs", type=int, help="Epochs of --pretrain's language model.")
@click.option(
    "--self-train",
    is_flag=True,
    help="Train a first classifier, let it label the --unlabeled texts, then train the model afresh on the labelled "
    "texts and the unlabelled ones it labelled with --self-train-confidence (pseudo-labels).",
)
@task_option(
    "--self-train-confidence",
    type=float,
    help="The least probability of a pseudo-label that --self-train keeps (0 keeps every unlabelled text).",
)
@task_option(
    "--self-train-epochs", type=int, help="Epochs of --self-train's model on the pseudo-labels [default: --epochs]."
)
@click.option(
    "--encoder",
    type=click.Path(file_okay=False),
    help="Start from a language model trained earlier (rnnkit train --task lm): the classifier takes its tokenizer, "
    "vocabulary and body (its sizes; forwards) and is fine-tuned from it.",
)
@task_option("--pooling", type=choice("pooling"))
@task_option("--dropout", type=float)
@task_option(
    "--word-dropout",
    type=float,
    help="Share of training tokens replaced by <unk>, so unseen words are handled.",
)
@task_option("--window", type=int, help="Steps of backpropagation through time: the text is read in windows this long.")
@task_option("--weight-drop", type=float, help="DropConnect on the hidden-to-hidden weights (AWD-LSTM).")
@task_option(
    "--tie-weights/--no-tie-weights",
    help="The decoder is the embedding matrix (Press & Wolf 2017), through a projection if the sizes differ "
    "[default: tied when --embedding-dim equals --hidden].",
)
@task_option(
    "--tag-column",
    help="The tags to learn: a CoNLL-U column name (upos when not given), or a token file's column number "
    "(the last when not given).",
)
@task_option("--char-hidden", type=int, help="Size of the character encoder of each word, per direction (0: none).")
@task_option("--crf/--no-crf", help="Score whole tag sequences with a conditional random field (Viterbi decoding).")
@task_option(
    "--ensemble",
    type=int,
    help="Networks trained from different seeds, their probabilities averaged "
    "[default: 1; with --preset accurate, 5 below 20,000 training texts, else 1].",
)
@task_option(
    "--jobs",
    type=int,
    help="Ensemble members trained at once, each in a process of its own (2 on a 2-core CPU: about 1.4x faster).",
)
@task_option("--epochs", type=int, help="At most this many passes over DATA.")
@click.option(
    "--patience",
    type=int,
    default=D.patience,
    show_default=True,
    help="Stop after this many epochs without a better validation score.",
)
@task_option("--metric", type=choice("metric"), help="The validation score that picks the best epoch.")
@click.option(
    "--max-minutes",
    type=float,
    help="Stop after this many minutes, keeping the best model so far.",
)
@click.option(
    "--device",
    type=click.Choice(CHOICES["device"]),
    default="auto",
    show_default=True,
    help="Where to train: auto is a CUDA GPU when torch sees one, else the CPU.",
)
@click.option(
    "--nproc",
    type=click.IntRange(min=1),
    help="Train with this many processes on this machine (torchrun and DistributedDataParallel; each takes its part "
    "of every batch, so --batch-size is per process).",
)
@click.option(
    "--checkpoint-every",
    type=int,
    help="Also write a checkpoint every N steps within an epoch, for long epochs [default: at each epoch's end].",
)
@task_option("--batch-size", type=int)
@task_option("--lr", type=float, help="Peak learning rate of AdamW.")
@click.option(
    "--schedule",
    type=choice("schedule"),
    default=D.schedule,
    show_default=True,
    help="linear: 5% warm-up, then down to 0 at the last epoch; constant: --lr throughout; slanted: ULMFiT's "
    "slanted triangular rate.",
)
@click.option(
    "--layer-decay",
    type=float,
    default=D.layer_decay,
    show_default=True,
    help="Discriminative learning rates: each layer's rate is the one above's divided by this, the embeddings "
    "lowest (ULMFiT: 2.6); 1: one rate.",
)
@click.option(
    "--unfreeze/--no-unfreeze",
    default=D.unfreeze,
    show_default=True,
    help="Gradual unfreezing (ULMFiT): epoch 1 trains the head only, each epoch after thaws the layer below.",
)
@click.option("--weight-decay", type=float, default=D.weight_decay, show_default=True)
@task_option(
    "--average",
    type=float,
    help="Decay of a moving average of the weights, which is what gets scored and kept (0: off).",
)
@task_option("--label-smoothing", type=float)
@task_option(
    "--adversarial",
    type=float,
    help="Also train on each text with its word embeddings moved this far (L2 norm) the way that hurts most; "
    "0: off. Twice the work per step.",
)
@task_option("--max-length", type=int, help="Tokens kept per text.")
@task_option("--min-freq", type=int, help="Tokens seen fewer times become <unk>.")
@click.option("--max-vocab", type=int, default=D.max_vocab, show_default=True)
@task_option("--tokenizer", type=choice("tokenizer"))
@task_option("--lowercase/--no-lowercase")
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
    """Train a model on DATA and save it: a classifier (default: on the bundled AG News sample), with --task lm
    a language model, with --task tag a tagger.

    DATA is a CSV, TSV or JSONL file with a text and a label column, for --task lm one or more text files, for
    --task tag a CoNLL-U or token-per-line file. The model is saved in the run directory (see --out) and the test
    report, if there is a test set, is printed. `rnnkit train --task lm --help` shows the language model's
    defaults, `--task tag --help` the tagger's.
    """
    from rnnkit.api import train as train_pipeline
    from rnnkit.errors import RnnkitError
    from rnnkit.metrics import format_report, format_tagging_report
    from rnnkit.training.trainer import TrainingInterrupted

    def terminated(signum: int, frame: object) -> None:  # outside the training loop, which stops at a step's end
        raise TrainingInterrupted(signum, "terminated")

    signal.signal(signal.SIGTERM, terminated)
    try:
        if click.get_current_context().get_parameter_source("task") == click.core.ParameterSource.DEFAULT:
            options.pop("task")  # not asked for: rnnkit.train infers it from the file (.conllu) or takes classify
        if options.get("task") != "lm" and len(data) > 1:
            raise RnnkitError("a classifier trains on one labelled file (several text files are for --task lm)")
        source = list(data) if options.get("task") == "lm" else (data[0] if data else None)
        pipeline = train_pipeline(source, test=test, format=format_, text_column=list(text_column) or None, **options)
    except KeyboardInterrupt as stopped:
        signum = getattr(stopped, "signum", signal.SIGINT)  # a TrainingInterrupted says which signal stopped it
        kept = (
            "a checkpoint was written where it stopped"
            if getattr(stopped, "checkpointed", False)
            else "every checkpoint written is kept"
        )
        click.echo(
            f"\ninterrupted ({signal.Signals(signum).name}): {kept}; add --resume to the same command to continue",
            err=True,
        )
        sys.exit(128 + signum)
    if os.environ.get("RANK", "0") != "0":
        return  # under torchrun, process 0 reports for all
    members = pipeline.training["members"]
    epochs = ", ".join(f"{m['best_epoch']} of {len(m['history'])}" for m in members)
    kind = f"an ensemble of {len(members)} networks" if len(members) > 1 else "one network"
    click.echo(f"model saved to {pipeline.run_dir}  ({kind}; best epoch {epochs})")
    if pipeline.training.get("out_of_time"):  # a language model's or tagger's record says so
        click.echo(f"stopped at --max-minutes {options['max_minutes']:g}, keeping the best epoch")
    if pipeline.task == "lm":
        if pipeline.training["valid"] is not None:
            click.echo(f"validation: {format_lm_report(pipeline.training['valid'])}")
        if pipeline.report is not None:
            click.echo(f"\ntest set {pipeline.report['source']}: {format_lm_report(pipeline.report)}")
        click.echo(f'\nnext: rnnkit generate {pipeline.run_dir} --prompt "Some text"')
        return
    if pipeline.task == "tag":
        if pipeline.training["valid"] is not None:
            click.echo(f"validation: token accuracy {pipeline.training['valid']['accuracy']:.4f}")
        if pipeline.report is not None:
            click.echo(f"\ntest set {pipeline.report['source']}:")
            click.echo(format_tagging_report(pipeline.report))
        click.echo(f'\nnext: rnnkit predict {pipeline.run_dir} "A sentence to tag."')
        return
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


def format_lm_report(report: dict) -> str:
    """A language model's figures on one line."""
    line = f"loss {report['loss']:.4f} nats per token, perplexity {report['perplexity']:.2f}"
    if "bits_per_character" in report:
        line += f", {report['bits_per_character']:.4f} bits per character"
    return line + (f" ({report['tokens']:,} tokens)" if "tokens" in report else "")


@main.command()
@click.argument("model", type=click.Path())
@click.argument("data", type=click.Path(dir_okay=False))
@text_read_options
@click.option("--tag-column", help="A tagger's gold tags: a CoNLL-U column name or a token file's column number.")
@click.option("--report", type=click.Path(dir_okay=False), help="Also write the full report as JSON to this file.")
@click.option(
    "--plots",
    type=click.Path(file_okay=False),
    help="Also draw the confusion matrix (confusion.png) and F1 per class (f1.png) into this directory, made if "
    "missing; classifiers and taggers. Needs matplotlib (pip install 'rnnkit[plots]').",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing --report file or --plots files [default: refuse].")
def evaluate(model, data, format_, delimiter, text_column, label_column, classes, tag_column, report, plots, overwrite):
    """Evaluate MODEL on DATA: for a classifier, a labelled file (accuracy, macro-F1, per-class figures, confusion
    matrix); for a language model, a text file (loss, perplexity, bits per character); for a tagger, a tagged file
    (token accuracy, accuracy on unseen words, per-tag figures, and entity figures for BIO/BIOES tags)."""
    from pathlib import Path

    from rnnkit.data import read_class_names, read_examples
    from rnnkit.errors import RnnkitError
    from rnnkit.io import atomic_write_bytes, atomic_write_json
    from rnnkit.metrics import format_report, format_tagging_report
    from rnnkit.options import parse_delimiter
    from rnnkit.plots import CONFUSION, F1, INSTALL, evaluation_figures, plots_available, png

    if report and Path(report).exists() and not overwrite:
        raise RnnkitError(f"{report} exists: choose another --report file, or add --overwrite to replace it")
    if plots:  # refused before the model is run, as --report is
        if not plots_available():
            raise RnnkitError(f"--plots needs matplotlib: {INSTALL}")
        for name in (CONFUSION, F1):
            if (Path(plots) / name).exists() and not overwrite:
                raise RnnkitError(
                    f"{Path(plots) / name} exists: choose another --plots directory, or add --overwrite to replace it"
                )
    pipeline = load_for_prediction(model)
    if tag_column is not None and pipeline.task != "tag":
        raise RnnkitError(f"--tag-column is for taggers; {model} is {TASK_TITLES[pipeline.task]}")
    if plots and pipeline.task == "lm":
        raise RnnkitError(f"--plots is for classifiers and taggers; {model} is {TASK_TITLES[pipeline.task]}")
    if pipeline.task != "classify" and (format_ or delimiter or text_column or label_column or classes):
        raise RnnkitError(f"{model} is {TASK_TITLES[pipeline.task]}: give no column or format options")
    if pipeline.task == "lm":
        result = pipeline.evaluate(data)
        click.echo(format_lm_report(result))
    elif pipeline.task == "tag":
        from rnnkit.data.tagged import read_tagged

        corpus = read_tagged(data, tag_column=tag_column)
        result = pipeline.evaluate(corpus)
        click.echo(corpus.summary(), err=True)
        click.echo(format_tagging_report(result))
    else:
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
    if plots:
        written = []
        for name, figure in evaluation_figures(result).items():
            atomic_write_bytes(Path(plots) / name, png(figure))
            written.append(str(Path(plots) / name))
        click.echo(f"\nplots written to {', '.join(written)}")


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


VERBS = {"classify": "rnnkit predict", "lm": "rnnkit generate", "tag": "rnnkit predict"}


def load_for_prediction(model: str, tasks: tuple[str, ...] | None = None):
    """The model, run by onnxruntime when it is installed (and torch never imported: a fast start), else torch.

    MODEL is a model directory or an ONNX file written by ``rnnkit export``, which runs on onnxruntime only. With
    ``tasks``, a model of another task is refused in one line that names the verb it needs.
    """
    from rnnkit.errors import RnnkitError
    from rnnkit.exported import is_exported, load_exported
    from rnnkit.runtime import load_onnx, onnxruntime_available

    if is_exported(model):
        loaded = load_exported(model)
    elif onnxruntime_available():
        loaded = load_onnx(model)
    else:
        from rnnkit.pipeline import load

        loaded = load(model, engine="torch")
    if tasks is not None and loaded.task not in tasks:
        raise RnnkitError(f"{model} is {TASK_TITLES[loaded.task]}: use {VERBS[loaded.task]}")
    return loaded


@main.command()
@click.argument("model", type=click.Path())
@click.argument("texts", nargs=-1)
@click.option("--file", type=click.Path(dir_okay=False), help="Read texts from this file, one per line.")
@click.option("--top-k", type=click.IntRange(min=1), default=1, show_default=True, help="Labels shown per text.")
@click.option("--format", "format_", type=click.Choice(["text", "json", "tsv"]), default="text", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--pretokenized", is_flag=True, help="A tagger's sentences are already split into tokens by spaces.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help="A tagger writes a tagged copy of --file (CoNLL-U or token per line, tagged or not) to this file.",
)
@click.option("--tag-column", help="With --output: the column to fill in [default: upos, or a token file's last].")
@click.option("--overwrite", is_flag=True, help="Replace an existing --output file [default: refuse].")
def predict(model, texts, file, top_k, format_, batch_size, pretokenized, output, tag_column, overwrite) -> None:
    """Predict the label of each text, or a tagger's tag of each token: TEXTS as arguments, --file, or standard
    input (one text per line).

    MODEL is a model directory or an ONNX file written by 'rnnkit export'. Large inputs stream through in batches;
    each line gets its answer in the input's order, blank ones too (with a warning naming them). A tagger splits
    raw text into tokens as its training data was split (--pretokenized: at spaces), and with --output tags a
    whole CoNLL-U or token-per-line --file into a new file.
    """
    from rnnkit.errors import RnnkitError
    from rnnkit.runtime import SHOWN, warn_blank

    pipeline = load_for_prediction(model, ("classify", "tag"))
    if pipeline.task == "tag":
        if top_k != 1:
            raise RnnkitError("--top-k is for classifiers: a tagger gives one tag per token")
        tag_sentences(pipeline, texts, file, format_, batch_size, pretokenized, output, tag_column, overwrite)
        return
    for name, value in (("--pretokenized", pretokenized), ("--output", output), ("--tag-column", tag_column)):
        if value:
            raise RnnkitError(f"{name} is for taggers; {model} is a text classifier")
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


def tag_sentences(tagger, texts, file, format_, batch_size, pretokenized, output, tag_column, overwrite) -> None:
    """``rnnkit predict`` for a tagger: sentences in, ``token/TAG`` out (or JSON, or token-per-line TSV); with
    ``--output``, a tagged copy of a CoNLL-U or token-per-line file."""
    from rnnkit.errors import RnnkitError

    if output:
        if not file or texts:
            raise RnnkitError("--output tags a whole file: give it with --file (CoNLL-U or token per line)")
        corpus = tagger.tag_file(file, output, tag_column=tag_column, overwrite=overwrite)
        click.echo(f"{corpus.summary()}; tagged copy written to {output}", err=True)
        return
    if tag_column:
        raise RnnkitError("--tag-column names the column to fill in a tagged file: give it with --file and --output")
    batch: list[list[str]] = []

    def flush() -> None:
        for tokens, tags in zip(batch, tagger.tag(batch, batch_size), strict=True):
            if format_ == "json":
                click.echo(json.dumps({"tokens": tokens, "tags": tags}, ensure_ascii=False))
            elif format_ == "tsv":
                click.echo("".join(f"{token}\t{tag}\n" for token, tag in zip(tokens, tags, strict=True)))
            else:
                click.echo(" ".join(f"{token}/{tag}" for token, tag in zip(tokens, tags, strict=True)))
        batch.clear()

    for text in _texts(texts, file):
        batch.append(text.split() if pretokenized else tagger.tokenize(text))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()


@main.command()
@click.argument("model", type=click.Path())
@click.option("--prompt", default="", help="The text to continue [default: start at the beginning of a line].")
@click.option("--length", type=int, default=200, show_default=True, help="Tokens to write (characters, or words).")
@click.option("--temperature", type=float, default=1.0, show_default=True, help="Below 1 safer, above 1 wilder.")
@click.option("--top-k", type=int, help="Draw from the K most likely tokens only (1: always the most likely).")
@click.option("--top-p", type=float, help="Draw from the fewest most likely tokens that hold this much probability.")
@click.option("--seed", type=int, help="The same seed writes the same text [default: a new text each time].")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True, help="Texts to write.")
def generate(model, prompt, length, temperature, top_k, top_p, seed, count) -> None:
    """Write text with the language model MODEL, token by token as it is drawn.

    The prompt is read once; then the network's state is carried one token at a time. Runs on onnxruntime when it
    is installed (no torch), else on torch.
    """
    from rnnkit.generation import check_sampling

    check_sampling(temperature, top_k, top_p, length)
    generator = load_for_prediction(model, ("lm",))
    generator.encode_prompt(prompt)  # a character the model never saw: refused before anything is written
    for i in range(count):
        if i:
            click.echo("\n---")
        click.echo(prompt, nl=False)
        seed_i = None if seed is None else seed + i
        for piece in generator.stream(prompt, length, temperature, top_k, top_p, seed_i):
            click.echo(piece, nl=False)
            sys.stdout.flush()
        click.echo()


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
    """Export MODEL as one ONNX file, OUTPUT: the network, with its tokenizer, vocabulary (and labels) as metadata.

    A classifier takes ids [batch, steps] (int64, padded with 0) and lengths [batch] and gives probabilities
    [batch, classes]; 'rnnkit predict OUTPUT' runs it. A language model takes ids [batch, steps] and its state h0
    (and c0) [layers, batch, hidden] and gives logits [batch, steps, vocabulary] and the state after the last step.
    A tagger takes ids and lengths (and each batch's spellings) and gives tag scores [batch, steps, tags]; a CRF's
    transitions go in the metadata, for Viterbi outside the graph.
    Needs onnx and onnxruntime (pip install 'rnnkit[onnx]').
    """
    from rnnkit.export import TOLERANCE, export_onnx

    difference = export_onnx(model, output, check=check, overwrite=overwrite)
    checked = f"; onnxruntime matches torch to {difference:.1e} (allowed {TOLERANCE:.0e})" if check else ""
    click.echo(f"exported {model} to {output}{checked}")


@main.command()
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
    from rnnkit.pipeline import load

    pipeline = load(model, engine="torch")
    if units_file:
        report = pipeline.find_units(_unit_texts(pipeline, units_file), member, max_tokens)
    else:
        report = pipeline.inspect(text, member)
    if out is None:
        click.echo(report.to_json() if formats else report.summary())
        return
    click.echo(report.summary())
    for path in report.save(out, chosen):
        click.echo(f"wrote {path}")


def _unit_texts(pipeline, path: str) -> Iterator[str]:
    """The texts of ``path`` as ``--units`` reads them: running text for a language model, else one per line."""
    if pipeline.task == "lm":
        from rnnkit.data.corpus import read_corpus

        yield read_corpus(path)
        return
    from rnnkit.data.readers import read_text_file

    yield from (line for line in read_text_file(path).splitlines() if line.strip())


class Checked(click.ParamType):
    """An option's value checked by ``rnnkit.serving.options.<check>`` (imported when used, so that ``rnnkit --help``
    stays fast): its RnnkitError is the command's one line (click's own would be a usage block)."""

    def __init__(self, check: str, metavar: str) -> None:
        self.check, self.name = check, metavar

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return self.name

    def convert(self, value, param, ctx):
        from rnnkit.errors import RnnkitError
        from rnnkit.serving import options

        if not isinstance(value, str):
            return value
        try:
            return getattr(options, self.check)(value)
        except RnnkitError as e:
            raise RnnkitError(f"{param.opts[0]}: {e}") from None


def serve_gate_options(f):
    """``serve``'s options for what every request meets (rnnkit.serving.gate): tokens, limits, metrics, the log."""
    options = [
        click.option(
            "--token-file",
            type=Checked("token_file", "FILE"),
            help="Bearer tokens, one per line: every endpoint but the page, /health and /docs needs one; SIGHUP "
            "re-reads the file (revoke without a restart). Or set RNNKIT_TOKENS (comma-separated).",
        ),
        click.option("--no-auth", is_flag=True, help="Serve beyond loopback without tokens (warned on every start)."),
        click.option(
            "--rate",
            type=Checked("rate", "N/s"),
            help="Requests per client (its token, or its address without tokens): 20/s, 600/m, 3600/h; past it "
            "429 with Retry-After. /generate costs 100 requests, /inspect 200 (at most the burst). [default: none]",
        ),
        click.option(
            "--burst", type=Checked("positive_number", "N"), help="Requests a client may send at once [2 s of --rate]."
        ),
        click.option(
            "--max-inflight",
            type=Checked("positive_count", "N"),
            default="256",
            show_default=True,
            help="Requests each worker answers at once; past it 503 at once.",
        ),
        click.option(
            "--timeout",
            type=Checked("positive_number", "SECONDS"),
            default="30",
            show_default=True,
            help="Time a request may wait for its answer to begin; past it 504, and its work is dropped.",
        ),
        click.option("--metrics-open", is_flag=True, help="GET /metrics without a token (for a scraper)."),
        click.option(
            "--access-log",
            metavar="FILE",
            default="-",
            help="One JSON line per request (never its texts) to FILE [default: standard error].",
        ),
        click.option("--no-access-log", is_flag=True, help="No access log."),
        click.option("--log-texts", is_flag=True, help="Write each request's texts in the access log."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@main.command()
@click.argument("model", type=click.Path())
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every machine).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes serving requests.")
@click.option(
    "--max-batch",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="Texts in one model call: concurrent requests are answered together (1: batching off).",
)
@click.option("--max-texts", type=click.IntRange(min=1), default=256, show_default=True, help="Texts per request.")
@click.option("--max-chars", type=click.IntRange(min=1), default=20_000, show_default=True, help="Characters per text.")
@click.option("--max-body", type=click.IntRange(min=1), default=1_000_000, show_default=True, help="Bytes per request.")
@click.option(
    "--max-length", type=click.IntRange(min=1), default=2_000, show_default=True, help="Tokens one generation writes."
)
@serve_gate_options
def serve(model, host, port, workers, max_batch, max_texts, max_chars, max_body, max_length, **gate) -> None:
    """Serve MODEL over HTTP: a web page at /, the API at /docs.

    \b
    POST /predict  {"texts": [...], "top_k": 2}   labels and probabilities, or tokens and tags
    POST /generate {"prompt": "ROMEO:", "length": 200, "temperature": 0.8}   text, streamed
    POST /inspect  {"text": "..."}                the token-by-token page (needs torch)
    GET  /health, GET /model, GET /metrics (Prometheus)

    Runs on onnxruntime where it is installed (torch is not imported). Concurrent requests are batched into one model
    call. Every endpoint but the page, /health and /docs takes a token (Authorization: Bearer ...) when --token-file
    or RNNKIT_TOKENS gives some: beyond loopback it will not start without one (or --no-auth). Ctrl-C or SIGTERM lets
    the requests in flight finish, then exits; SIGHUP re-reads the token file.
    """
    import socket

    from rnnkit.errors import RnnkitError

    try:
        from rnnkit.serving.gate import GateSettings
        from rnnkit.serving.limits import Limits
        from rnnkit.serving.server import preflight
        from rnnkit.serving.server import serve as run_server
    except ImportError:
        needs = "fastapi, uvicorn and prometheus-client"
        raise RnnkitError(f"rnnkit serve needs {needs}: pip install 'rnnkit[serve]'") from None
    gate["access_log"] = None if gate.pop("no_access_log") else gate["access_log"]
    gate = GateSettings(**gate)
    preflight(host, gate)  # tokens, and no other machine without them: before the port is even tried
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:  # a port in use is one line now, not a log later
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise RnnkitError(
                f"cannot listen on {host} port {port} ({e.strerror}): choose another with --port"
            ) from None
    limits = Limits(max_body, max_texts, max_chars, max_length)
    say = lambda line: click.echo(line, err=True)  # noqa: E731
    run_server(model, host, port, workers, max_batch, limits, say=say, gate=gate)


if __name__ == "__main__":  # pragma: no cover
    main()
