"""``rnnkit.train``: from a labelled file to a trained, saved, evaluated :class:`~rnnkit.pipeline.Pipeline`.

Keyword arguments are named as the command line's options (dashes as underscores), so a command that works
reads the same in Python: ``rnnkit train data.csv --cell gru --hidden 256`` is
``rnnkit.train("data.csv", cell="gru", hidden=256)``.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from rnnkit.data import Examples, encode_texts, read_class_names, read_examples, stratified_split
from rnnkit.data.bundled import ag_news_sample
from rnnkit.errors import DataError, RnnkitError
from rnnkit.io import atomic_write_json
from rnnkit.models import MODELS, ClassifierConfig, build_model
from rnnkit.nn import BACKENDS, CELLS, POOLINGS
from rnnkit.pipeline import Pipeline
from rnnkit.text import TOKENIZERS, Vocab
from rnnkit.training import METRICS, TrainConfig, fit, seed_everything
from rnnkit.training.trainer import CHECKPOINT


@dataclass
class TrainOptions:
    """Every option of ``rnnkit train``; the defaults are the measured defaults (benchmarks/RESULTS.md)."""

    test: str | None = None  # a labelled file to report on after training
    valid_split: float = 0.1  # share of the training file held out for early stopping
    text_column: list[str] | str | None = None  # one or several columns, joined with a space
    label_column: str | None = None
    format: str | None = None  # csv, tsv, jsonl, agnews; guessed from the extension
    classes: str | None = None  # a file naming the classes, one per line (line 1 = label 0)
    strict: bool = False  # refuse empty texts instead of skipping them
    tokenizer: str = "word"
    lowercase: bool = True
    max_length: int = 400  # tokens kept per text
    min_freq: int = 1
    max_vocab: int = 100_000
    model: str = "rnn"  # rnn, or bag (the order-blind bag-of-embeddings baseline)
    cell: str = "lstm"
    bidirectional: bool = True
    layers: int = 1
    hidden: int = 128
    embedding_dim: int = 128
    pooling: str = "max"
    dropout: float = 0.5
    backend: str = "fused"
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.01
    clip: float = 1.0
    patience: int = 3
    metric: str = "accuracy"
    seed: int = 0
    out: str | None = None  # the run directory; default runs/<data name>
    resume: bool = False
    progress: bool = True

    def check(self) -> None:
        if not 0.0 <= self.valid_split < 1.0:
            raise RnnkitError(f"--valid-split must be in [0, 1), got {self.valid_split}")
        if self.tokenizer not in TOKENIZERS:
            raise RnnkitError(f"--tokenizer must be one of {', '.join(TOKENIZERS)}, got {self.tokenizer!r}")
        for name in ("max_length", "min_freq", "layers", "hidden", "embedding_dim"):
            if getattr(self, name) < 1:
                raise RnnkitError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name, allowed in (
            ("model", MODELS),
            ("cell", CELLS),
            ("pooling", POOLINGS),
            ("backend", BACKENDS),
            ("metric", METRICS),
        ):
            if getattr(self, name) not in allowed:
                raise RnnkitError(f"--{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise RnnkitError(f"--dropout must be in [0, 1), got {self.dropout}")
        if self.max_vocab < 2:
            raise RnnkitError(f"--max-vocab must be at least 2, got {self.max_vocab}")


OPTION_NAMES = tuple(f.name for f in fields(TrainOptions))


def label_order(labels: list[str]) -> list[str]:
    """Distinct labels, numbers in numeric order ("2" before "10"), then names alphabetically."""

    def key(label: str) -> tuple[int, float, str]:
        return (0, float(label), label) if re.fullmatch(r"-?\d+(\.\d+)?", label) else (1, 0.0, label)

    return sorted(set(labels), key=key)


def choose_run_dir(options: TrainOptions, data_name: str) -> Path:
    """``--out`` if given; else ``runs/<data name>``, numbered ``-2``, ``-3`` ... so no finished run is lost.

    With ``--resume`` and no ``--out``: the newest such directory that holds a checkpoint.
    """
    if options.out is not None:
        out = Path(options.out)
        if not options.resume and (out / CHECKPOINT).exists():
            raise RnnkitError(
                f"{out} holds an interrupted run: add --resume to continue it, or remove the directory to start over"
            )
        return out
    base = Path("runs") / data_name
    candidates = [base] + [base.with_name(f"{base.name}-{i}") for i in range(2, 1000)]
    if options.resume:
        interrupted = [c for c in candidates if (c / CHECKPOINT).exists()]
        if not interrupted:
            raise RnnkitError(f"nothing to resume: no interrupted run under {base}*; pass --out DIR")
        return interrupted[-1]
    return next(c for c in candidates if not c.exists())


def _data_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv", ".tsv", ".tab", ".jsonl", ".ndjson"):
        name = name.removesuffix(suffix)
    parent = path.parent.name
    return f"{parent}-{name}" if name in ("train", "data") and parent else name


def train(data: str | Path | None = None, **options: Any) -> Pipeline:
    """Train a text classifier on a labelled file and return it (saved in the run directory).

    With ``data=None`` it trains on the bundled AG News sample and reports on its test split. The test report, if
    any, is in ``pipeline.report``; the training history in ``pipeline.training["history"]``.
    """
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown}; rnnkit.train takes {', '.join(OPTION_NAMES)}")
    opts = TrainOptions(**options)
    opts.check()

    if data is None:
        bundled = ag_news_sample()
        data, data_name = bundled.train, "ag_news_sample"
        if opts.test is None:
            opts.test = str(bundled.test)
        if opts.classes is None:
            opts.classes = str(bundled.classes)
    else:
        data = Path(data)
        data_name = _data_name(data)

    read = dict(
        format=opts.format,
        text_columns=opts.text_column,
        label_column=opts.label_column,
        strict=opts.strict,
        label_names=read_class_names(opts.classes) if opts.classes else None,
    )
    examples = read_examples(data, **read)
    labels = read["label_names"] or label_order(examples.labels)
    labels = [label for label in labels if label in set(examples.labels)] if read["label_names"] else labels
    if len(labels) < 2:
        raise DataError(f"{data}: the label column has one class only ({labels[0]!r}); a classifier needs at least two")
    test = read_examples(opts.test, **read) if opts.test else None

    seed_everything(opts.seed)
    if opts.valid_split > 0:
        train_idx, valid_idx = stratified_split(examples.labels, opts.valid_split, opts.seed)
    else:
        train_idx, valid_idx = list(range(len(examples))), []
    tokenizer = TOKENIZERS[opts.tokenizer](lowercase=opts.lowercase)
    train_texts = [examples.texts[i] for i in train_idx]
    vocab = Vocab.build((tokenizer(t) for t in train_texts), min_freq=opts.min_freq, max_size=opts.max_vocab)
    label_index = {label: i for i, label in enumerate(labels)}

    def encode(indices: list[int]):
        return encode_texts(
            [examples.texts[i] for i in indices],
            tokenizer,
            vocab,
            opts.max_length,
            [label_index[examples.labels[i]] for i in indices],
        )

    train_set = encode(train_idx)
    valid_set = encode(valid_idx) if valid_idx else None

    try:
        model_config = ClassifierConfig(
            vocab_size=len(vocab),
            num_classes=len(labels),
            model=opts.model,
            cell=opts.cell,
            embedding_dim=opts.embedding_dim,
            hidden_size=opts.hidden,
            num_layers=opts.layers,
            bidirectional=opts.bidirectional,
            pooling=opts.pooling,
            dropout=opts.dropout,
            backend=opts.backend,
        )
        train_config = TrainConfig(
            epochs=opts.epochs,
            batch_size=opts.batch_size,
            lr=opts.lr,
            weight_decay=opts.weight_decay,
            clip=opts.clip,
            patience=opts.patience,
            metric=opts.metric,
            seed=opts.seed,
        )
    except ValueError as e:
        raise RnnkitError(str(e)) from None
    model = build_model(model_config)

    run_dir = choose_run_dir(opts, data_name)
    settings = {k: v for k, v in asdict(opts).items() if k not in ("out", "resume", "progress")}
    fingerprint = hashlib.sha256(
        json.dumps([settings, str(data), labels, vocab.tokens, len(train_idx)], sort_keys=True).encode()
    ).hexdigest()
    if opts.progress:
        skipped = f"; skipped {examples.skipped_empty} empty texts" if examples.skipped_empty else ""
        print(
            f"training on {data} ({len(train_idx)} train / {len(valid_idx)} validation texts, {len(labels)} classes, "
            f"{len(vocab)} words{skipped}) -> {run_dir}",
            file=sys.stderr,
        )
    result = fit(
        model,
        train_set,
        valid_set,
        labels,
        train_config,
        run_dir=run_dir,
        resume=opts.resume,
        fingerprint=fingerprint,
        progress=opts.progress,
    )
    training = {
        "data": str(data),
        "options": settings,
        "train_examples": len(train_idx),
        "valid_examples": len(valid_idx),
        "best_epoch": result.best_epoch,
        "history": result.history,
    }
    pipeline = Pipeline(tokenizer, vocab, labels, model, model_config, opts.max_length, training)
    pipeline.report = pipeline.evaluate(test) if test is not None else None
    pipeline.save(run_dir)
    if pipeline.report is not None:
        atomic_write_json(run_dir / "test_report.json", pipeline.report)
    (run_dir / CHECKPOINT).unlink(missing_ok=True)  # the run is finished: nothing left to resume
    pipeline.run_dir = run_dir
    return pipeline


def evaluate(model_dir: str | Path, data: str | Path | Examples, **read_options: Any) -> dict[str, Any]:
    from rnnkit.pipeline import load

    return load(model_dir).evaluate(data, **read_options)
