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
from collections.abc import Iterable
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import torch

from rnnkit.data import encode_texts, read_class_names, read_examples, stratified_split
from rnnkit.data.bundled import ag_news_sample
from rnnkit.data.vectors import read_vectors
from rnnkit.errors import DataError, RnnkitError
from rnnkit.io import atomic_write_json
from rnnkit.models import ClassifierConfig, build_model, members_of
from rnnkit.options import TrainOptions, ensemble_members
from rnnkit.pipeline import Pipeline
from rnnkit.text import TOKENIZERS, Vocab
from rnnkit.training import TrainConfig, seed_everything
from rnnkit.training.members import MemberRun, fit_members
from rnnkit.training.trainer import CHECKPOINT, evaluate_model

OPTION_NAMES = tuple(f.name for f in fields(TrainOptions))
MEMBER_SEED_STEP = 7919  # a prime: members of runs with neighbouring seeds never share a seed


def label_order(labels: Iterable[str]) -> list[str]:
    """Distinct labels, numbers in numeric order ("2" before "10"), then names alphabetically."""

    def key(label: str) -> tuple[int, float, str]:
        return (0, float(label), label) if re.fullmatch(r"-?\d+(\.\d+)?", label) else (1, 0.0, label)

    return sorted(set(labels), key=key)


def member_dirs(run_dir: Path, members: int) -> list[Path]:
    """Where each member's checkpoint and log go: the run directory itself for a single network."""
    return [run_dir] if members == 1 else [run_dir / f"member-{i + 1}" for i in range(members)]


def interrupted(directory: Path) -> bool:
    return (directory / CHECKPOINT).exists() or any(directory.glob(f"member-*/{CHECKPOINT}"))


def choose_run_dir(options: TrainOptions, data_name: str) -> Path:
    """``--out`` if given; else ``runs/<data name>``, numbered ``-2``, ``-3`` ... so no finished run is lost.

    With ``--resume`` and no ``--out``: the newest such directory that holds a checkpoint.
    """
    if options.out is not None:
        out = Path(options.out)
        if not options.resume and interrupted(out):
            raise RnnkitError(
                f"{out} holds an interrupted run: add --resume to continue it, or remove the directory to start over"
            )
        if options.resume and not interrupted(out):
            raise RnnkitError(f"nothing to resume: no interrupted run in {out}; start the run without --resume")
        return out
    base = Path("runs") / data_name
    candidates = [base] + [base.with_name(f"{base.name}-{i}") for i in range(2, 1000)]
    if options.resume:
        resumable = [c for c in candidates if interrupted(c)]
        if not resumable:
            raise RnnkitError(f"nothing to resume: no interrupted run under {base}*; pass --out DIR")
        return resumable[-1]
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
    present = set(examples.labels)
    # Class names from --classes keep their file order; otherwise numbers sort numerically, names alphabetically.
    labels = [name for name in read["label_names"] if name in present] if read["label_names"] else label_order(present)
    if len(labels) < 2:
        raise DataError(f"{data}: the label column has one class only ({labels[0]!r}); a classifier needs at least two")
    test = read_examples(opts.test, **read) if opts.test else None
    unseen = sorted(set(test.labels) - present) if test is not None else []
    if unseen:  # refuse now, not after the training it would waste
        raise DataError(
            f"{opts.test}: label(s) {', '.join(map(repr, unseen[:5]))} never occur in the training data {data}"
        )

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
            word_dropout=opts.word_dropout,
            backend=opts.backend,
            members=ensemble_members(opts, len(train_idx)),
        )
        train_config = TrainConfig(
            epochs=opts.epochs,
            batch_size=opts.batch_size,
            lr=opts.lr,
            schedule=opts.schedule,
            weight_decay=opts.weight_decay,
            clip=opts.clip,
            patience=opts.patience,
            metric=opts.metric,
            seed=opts.seed,
            average=opts.average,
            label_smoothing=opts.label_smoothing,
            adversarial=opts.adversarial,
        )
    except ValueError as e:
        raise RnnkitError(str(e)) from None
    model = build_model(model_config)
    if opts.vectors:
        vectors, found = read_vectors(opts.vectors, vocab, opts.embedding_dim)
        with torch.no_grad():
            for member in members_of(model):
                member.embedding.weight[found] = vectors[found]
        if opts.progress:
            print(f"{int(found.sum())} of {len(vocab) - 2} words found in {opts.vectors}", file=sys.stderr)

    run_dir = choose_run_dir(opts, data_name)
    run_dir.mkdir(parents=True, exist_ok=True)  # fail now, not after the first epoch, if it cannot be written
    settings = {k: v for k, v in asdict(opts).items() if k not in ("out", "resume", "progress")}
    fingerprint = hashlib.sha256(
        json.dumps([settings, str(data), labels, vocab.tokens, len(train_idx)], sort_keys=True).encode()
    ).hexdigest()
    if opts.progress:
        skipped = f"; skipped {examples.skipped_empty} empty texts" if examples.skipped_empty else ""
        print(
            f"training on {data} ({len(train_idx)} train / {len(valid_idx)} validation texts, {len(labels)} classes, "
            f"{len(vocab)} words{skipped}; {model_config.members} network{'s' if model_config.members > 1 else ''}) "
            f"-> {run_dir}",
            file=sys.stderr,
        )
    count = model_config.members
    runs = [
        MemberRun(
            # Member 1 keeps the run's seed, so a one-member run is the plain single network.
            config=replace(train_config, seed=opts.seed + MEMBER_SEED_STEP * i),
            run_dir=member_dir,
            resume=opts.resume and (member_dir / CHECKPOINT).exists(),
            fingerprint=f"{fingerprint}/{i}",
            name=f"member {i + 1}/{count}, " if count > 1 else "",
        )
        for i, member_dir in enumerate(member_dirs(run_dir, count))
    ]
    for run in runs:
        run.run_dir.mkdir(exist_ok=True)
    results = fit_members(
        members_of(model), runs, train_set, valid_set, labels, jobs=min(opts.jobs, count), progress=opts.progress
    )
    members = [
        {"seed": run.config.seed, "best_epoch": result.best_epoch, "history": result.history}
        for run, result in zip(runs, results, strict=True)
    ]
    valid_report = evaluate_model(model, valid_set, labels) if valid_set is not None else None
    training = {
        "data": str(data),
        "options": settings,
        "train_examples": len(train_idx),
        "valid_examples": len(valid_idx),
        "valid": None if valid_report is None else {k: valid_report[k] for k in ("accuracy", "macro_f1")},
        "members": members,
    }
    pipeline = Pipeline(tokenizer, vocab, labels, model, model_config, opts.max_length, training)
    pipeline.save(run_dir)
    pipeline.report = pipeline.evaluate(test) if test is not None else None
    if pipeline.report is not None:
        atomic_write_json(run_dir / "test_report.json", pipeline.report)
    for member_dir in member_dirs(run_dir, model_config.members):
        (member_dir / CHECKPOINT).unlink(missing_ok=True)  # the run is finished: nothing left to resume
    pipeline.run_dir = run_dir
    return pipeline
