"""From a labelled file to a trained, saved, evaluated classifier, in steps: the files read (training, validation,
test, unlabelled) with every refusal before any training; the validation cut, the vocabulary and the encoded
texts; the network; then pretraining, the teacher of self-training, and the networks themselves, each stage
checkpointed and resumable; the record of the run and the finish (:mod:`rnnkit.training.run`).
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.data import EncodedTexts, Examples, encode_texts, read_class_names, read_examples, stratified_split
from rnnkit.data.bundled import ag_news_sample
from rnnkit.data.labels import label_order, label_problems
from rnnkit.data.unlabeled import read_unlabeled
from rnnkit.data.vectors import read_vectors
from rnnkit.errors import DataError, RnnkitError, RnnkitWarning
from rnnkit.metrics import classification_report
from rnnkit.modeldir import SavedModel, read_model_dir
from rnnkit.options import TrainOptions
from rnnkit.rundir import TEACHER_DIR, data_name, member_dirs
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.classify.members import MemberRun, fit_members
from rnnkit.tasks.classify.network import build_classifier, members_of
from rnnkit.tasks.classify.objective import evaluate_model
from rnnkit.tasks.classify.pipeline import Pipeline
from rnnkit.tasks.classify.presets import ensemble_members
from rnnkit.tasks.classify.pretrain_network import BODY, start_from
from rnnkit.tasks.classify.pretraining import pretrain_body, pretraining_loop
from rnnkit.tasks.classify.selftraining import pseudo_labels, save_pseudo_labels, saved_pseudo_labels
from rnnkit.text import TOKENIZERS, Tokenizer, Vocab
from rnnkit.text.subwords import Subwords
from rnnkit.training.distributed import Replicas, replicas_from_environment
from rnnkit.training.run import fingerprint, finish, loop_config, make_run_dir, say, settings
from rnnkit.training.trainer import TrainConfig, seed_everything

MEMBER_SEED_STEP = 7919  # a prime: members of runs with neighbouring seeds never share a seed


@dataclass
class LabelledData:
    """What a classifier learns from, read and checked: the training examples (a given validation file appended
    after them), the classes in order, the test examples, the unlabelled texts, and where each came from."""

    examples: Examples
    labels: list[str]
    source: str
    name: str
    columns: dict[str, Any]
    test: Examples | None = None
    valid_rows: int = 0  # rows of a given --valid file, at the end of ``examples``
    unlabeled: list[str] = field(default_factory=list)


def class_labels(examples: Examples, label_names: list[str] | None, strict: bool) -> list[str]:
    """The classes to learn, in order; labels that look like mistakes are warned about (refused when ``strict``).

    Class names from ``--classes`` keep their file order; otherwise numbers sort numerically, names alphabetically.
    """
    present = set(examples.labels)
    labels = [name for name in label_names if name in present] if label_names else label_order(present)
    if len(labels) < 2:
        raise DataError(
            f"{examples.source}: the label column has one class only ({labels[0]!r}); a classifier needs at least two"
        )
    for problem in label_problems(examples.labels, examples.source, examples.lines):
        if strict:
            raise DataError(f"{problem} (--strict)")
        warnings.warn(f"{problem}; --strict makes this an error", RnnkitWarning, stacklevel=6)
    return labels


def majority_baseline(
    report: dict[str, Any],
    truth: np.ndarray,
    train_labels: list[str],
    labels: list[str],
    metric: str,
    where: str = "the validation cut",
) -> dict[str, Any]:
    """The figures on ``where`` (the validation cut; without one, the training texts) of always answering the most
    frequent training class, and a warning when the model does no better: a network that learnt nothing still
    finishes, and only these figures show it."""
    counts = Counter(train_labels)
    majority = max(labels, key=lambda label: counts[label])
    always = classification_report(truth, np.full(len(truth), labels.index(majority)), labels)
    baseline = {"label": majority, "accuracy": always["accuracy"], "macro_f1": always["macro_f1"]}
    if report[metric] <= baseline[metric] + 1e-9:
        warnings.warn(
            f"the model is no better than always answering {majority!r}: on {where} it scores "
            f"macro-F1 {report['macro_f1']:.3f} against {baseline['macro_f1']:.3f} and accuracy "
            f"{report['accuracy']:.3f} against {baseline['accuracy']:.3f}; train longer (--epochs), add data, "
            f"or check that the labels fit the texts",
            RnnkitWarning,
            stacklevel=5,
        )
    return baseline


def read_data(data: str | Path | None, opts: TrainOptions) -> LabelledData:
    """The training, validation, test and unlabelled files, read and checked: labels that occur only in a test or
    validation file are refused now, not after the training they would waste. ``data=None`` is the bundled AG
    News sample, with its test split and class names."""
    if isinstance(data, list | tuple):
        raise RnnkitError("a classifier trains on one labelled file; join the files, or name one and pass --valid")
    if data is None:
        bundled = ag_news_sample()
        data, name = bundled.train, "ag_news_sample"
        opts.test = opts.test or str(bundled.test)
        opts.classes = opts.classes or str(bundled.classes)
    else:
        data = Path(data)
        name = data_name(data)
    read = dict(
        format=opts.format,
        delimiter=opts.delimiter,
        text_columns=opts.text_column,
        label_column=opts.label_column,
        strict=opts.strict,
        label_names=read_class_names(opts.classes) if opts.classes else None,
    )
    examples = read_examples(data, **read)
    say(examples.summary(), *examples.notes, quiet=opts.quiet)
    labels = class_labels(examples, read["label_names"], opts.strict)
    test = read_examples(opts.test, **read) if opts.test else None
    if test is not None:
        say(test.summary(), *test.notes, quiet=opts.quiet)
        unseen = sorted(set(test.labels) - set(labels))
        if unseen:
            raise DataError(
                f"{opts.test}: label(s) {', '.join(map(repr, unseen[:5]))} never occur in the training data {data}"
            )
    columns = examples.columns()
    valid = read_examples(opts.valid, **read) if opts.valid else None
    if valid is not None:
        say(valid.summary(), *valid.notes, quiet=opts.quiet)
        unseen = sorted(set(valid.labels) - set(labels))
        if unseen:
            raise DataError(f"{opts.valid}: label(s) {', '.join(map(repr, unseen[:5]))} never occur in {data}")
        examples = Examples(examples.texts + valid.texts, examples.labels + valid.labels, examples.source)
    read_data = LabelledData(examples, labels, str(data), name, columns, test, len(valid) if valid else 0)
    if opts.unlabeled:
        extra = read_unlabeled(opts.unlabeled, opts.text_column)
        say(f"{extra.summary()} (unlabelled)", quiet=opts.quiet)
        read_data.unlabeled = extra.texts
    return read_data


def read_encoder(path: str) -> SavedModel:
    """``--encoder``: a language model's directory (``rnnkit train --task lm``), read and checked."""
    saved = read_model_dir(path)
    if saved.task != "lm":  # the one kind of model whose body a classifier starts from
        raise RnnkitError(f"--encoder {path}: a {saved.task} model; give a language model (rnnkit train --task lm)")
    return saved


def take_encoder(opts: TrainOptions) -> tuple[TrainOptions, SavedModel | None]:
    """``--encoder``'s language model, and the options with its body's sizes (read forwards)."""
    if not opts.encoder:
        return opts, None
    encoder = read_encoder(opts.encoder)
    c = encoder.config
    opts = opts.replace(
        cell=c.cell, embedding_dim=c.embedding_dim, hidden=c.hidden_size, layers=c.num_layers, subwords=c.subwords,
        bidirectional=False,  # a language model reads forwards
    )  # fmt: skip
    say(
        f"starting from the language model {opts.encoder}: its tokenizer, its {len(encoder.vocab):,} tokens and its "
        f"body ({c.cell.upper()} {c.num_layers}x{c.hidden_size}, embedding {c.embedding_dim}, forwards)",
        quiet=opts.quiet,
    )
    return opts, encoder


@dataclass
class Encoded:
    """The texts as the network reads them: the validation cut made, the tokenizer and vocabulary chosen."""

    tokenizer: Tokenizer
    vocab: Vocab
    subwords: Subwords | None
    train_index: list[int]
    train: EncodedTexts
    valid: EncodedTexts | None

    def texts(self, data: LabelledData) -> list[str]:
        return [data.examples.texts[i] for i in self.train_index]


def encode(data: LabelledData, opts: TrainOptions, encoder: SavedModel | None) -> Encoded:
    """The validation cut (the given file, or a stratified cut of the training rows), the tokenizer and vocabulary
    (the ``--encoder``'s, or built from the training and unlabelled texts), and the encoded texts."""
    examples = data.examples
    if data.valid_rows:  # the given validation file, appended after the training rows
        first = len(examples) - data.valid_rows
        train_idx, valid_idx = list(range(first)), list(range(first, len(examples)))
    elif opts.valid_split > 0:
        train_idx, valid_idx = stratified_split(examples.labels, opts.valid_split, opts.seed)
    else:
        train_idx, valid_idx = list(range(len(examples))), []
    subwords = Subwords(opts.subwords) if opts.subwords else None
    if encoder is not None:  # the language model's tokenizer and vocabulary, with its body
        tokenizer, vocab = encoder.tokenizer, encoder.vocab
    else:  # with --pretrain, the language model's words: those of the training and the unlabelled texts
        tokenizer = TOKENIZERS[opts.tokenizer](lowercase=opts.lowercase)
        words = (tokenizer(t) for t in [*(examples.texts[i] for i in train_idx), *data.unlabeled])
        vocab = Vocab.build(words, min_freq=opts.min_freq, max_size=opts.max_vocab)
    label_index = {label: i for i, label in enumerate(data.labels)}

    def encoded(indices: list[int]) -> EncodedTexts:
        labels = [label_index[examples.labels[i]] for i in indices]
        return encode_texts([examples.texts[i] for i in indices], tokenizer, vocab, opts.max_length, labels, subwords)

    return Encoded(tokenizer, vocab, subwords, train_idx, encoded(train_idx), encoded(valid_idx) if valid_idx else None)


def network_settings(opts: TrainOptions, vocab_size: int, classes: int, train_texts: int) -> ClassifierConfig:
    try:
        return ClassifierConfig(
            vocab_size=vocab_size,
            num_classes=classes,
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
            members=ensemble_members(opts, train_texts),
            subwords=opts.subwords,
        )
    except ValueError as e:
        raise RnnkitError(str(e)) from None


def train(data: str | Path | None, opts: TrainOptions) -> Pipeline:
    """:func:`rnnkit.train` for ``task="classify"``."""
    found = read_data(data, opts)
    opts, encoder = take_encoder(opts)
    seed_everything(opts.seed)
    texts = encode(found, opts, encoder)
    model_config = network_settings(opts, len(texts.vocab), len(found.labels), len(texts.train_index))
    train_config = loop_config(opts, metric=opts.metric)
    vectors = read_vectors(opts.vectors, texts.vocab, opts.embedding_dim) if opts.vectors else None
    if vectors is not None:
        say(f"{int(vectors[1].sum())} of {len(texts.vocab) - 2} words found in {opts.vectors}", quiet=opts.quiet)

    def new_model() -> torch.nn.Module:
        """A network of ``model_config`` as it starts: random, with the ``--vectors`` words' vectors."""
        model = build_classifier(model_config)
        if vectors is not None:
            table, found_words = vectors
            with torch.no_grad():
                for member in members_of(model):
                    member.embedding.weight[found_words] = table[found_words]
        return model

    model = new_model()
    replicas = replicas_from_environment()
    run_dir = make_run_dir(opts, found.name, model, train_config, replicas)
    identity = fingerprint(opts, [found.source, found.labels, texts.vocab.tokens, len(texts.train_index)])
    fit = Fitting(train_config, texts.valid, found.labels, opts, replicas, len(texts.vocab))
    pretraining = start_body(model, opts, found, texts, model_config, fit, run_dir, identity, encoder)
    train_set, self_training = texts.train, None
    if opts.self_train:  # the model above is the teacher; the model trained below starts afresh
        train_set, self_training = teach(model, found, texts, fit, run_dir, identity)
        model = new_model()
        fit.config = replace(train_config, epochs=opts.self_train_epochs or train_config.epochs)
    source = f"{found.source} and {self_training['pseudo_labeled']} pseudo-labelled texts" if self_training else None
    members = fit_classifier(model, train_set, run_dir, identity, source or found.source, fit=fit)
    return record_and_finish(model, found, texts, opts, model_config, run_dir, members, pretraining, self_training)


@dataclass
class Fitting:
    """What every network of a run trains with: the loop's settings, the validation texts, the classes, the
    options, the processes, and the vocabulary's size (said in the progress line)."""

    config: TrainConfig
    valid: EncodedTexts | None
    labels: list[str]
    opts: TrainOptions
    replicas: Replicas | None
    vocab_size: int


def start_body(
    model: torch.nn.Module,
    opts: TrainOptions,
    found: LabelledData,
    texts: Encoded,
    model_config: ClassifierConfig,
    fit: Fitting,
    run_dir: Path,
    identity: str,
    encoder: SavedModel | None,
) -> dict[str, Any] | None:
    """Start the networks' bodies from a language model: pretrained here (``--pretrain``, resumable in
    ``pretrain/``) or given (``--encoder``). Returns the record of pretraining, if any."""
    body, pretraining = None, None
    if opts.pretrain:
        corpus_texts = [*texts.texts(found), *found.unlabeled]
        say(f"pretraining a language model on {len(corpus_texts):,} texts", quiet=opts.quiet)
        corpus = encode_texts(corpus_texts, texts.tokenizer, texts.vocab, opts.max_length, subwords=texts.subwords)
        body, pretraining = pretrain_body(
            model_config,
            corpus,
            texts.valid,
            pretraining_loop(fit.config, opts.pretrain_epochs),
            run_dir,
            opts.resume,
            f"{identity}/pretrain",
            progress=not opts.quiet,
            replicas=fit.replicas,
            embedding=members_of(model)[0].embedding.weight.detach() if opts.vectors else None,
        )
    if encoder is not None:
        body = {k: torch.from_numpy(v) for k, v in encoder.weights.items() if k.startswith(BODY)}
    for member in members_of(model) if body is not None else []:
        start_from(member, body)
    return pretraining


def figures(report: dict[str, Any]) -> dict[str, float]:
    """What the record keeps of a report: accuracy and macro-F1."""
    return {k: report[k] for k in ("accuracy", "macro_f1")}


def record_and_finish(
    model: torch.nn.Module,
    found: LabelledData,
    texts: Encoded,
    opts: TrainOptions,
    model_config: ClassifierConfig,
    run_dir: Path,
    members: list[dict[str, Any]],
    pretraining: dict[str, Any] | None,
    self_training: dict[str, Any] | None,
) -> Pipeline:
    """The record of the run (validation figures beside always answering the commonest class; without validation,
    the training texts' figures beside it), the pipeline, and the finish: saved, reported on the test file, its
    checkpoints removed."""
    train_labels = [found.examples.labels[i] for i in texts.train_index]
    valid_report = valid_baseline = train_report = train_baseline = None
    if texts.valid is not None:
        valid_report = evaluate_model(model, texts.valid, found.labels)
        truth = texts.valid.labels.numpy()
        valid_baseline = majority_baseline(valid_report, truth, train_labels, found.labels, opts.metric)
    else:  # nothing held out (--valid-split 0): a network no better than the majority on its own texts learnt nothing
        train_report = evaluate_model(model, texts.train, found.labels)
        truth = texts.train.labels.numpy()
        where = "its own training texts (there is no validation cut)"
        train_baseline = majority_baseline(train_report, truth, train_labels, found.labels, opts.metric, where)
    training = {
        "data": found.source,
        "data_columns": found.columns,
        "options": settings(opts),
        "train_examples": len(texts.train_index),
        "valid_examples": 0 if texts.valid is None else len(texts.valid),
        "valid": None if valid_report is None else figures(valid_report),
        "valid_baseline": valid_baseline,
        **({"train": figures(train_report), "train_baseline": train_baseline} if train_report is not None else {}),
        "members": members,
        **({"pretraining": pretraining} if pretraining is not None else {}),
        **({"self_training": self_training} if self_training is not None else {}),
    }
    pipeline = Pipeline(texts.tokenizer, texts.vocab, found.labels, model, model_config, opts.max_length, training)
    return finish(pipeline, run_dir, found.test, model_config.members, replicas_from_environment())


def teach(
    teacher: torch.nn.Module, found: LabelledData, texts: Encoded, fit: Fitting, run_dir: Path, identity: str
) -> tuple[EncodedTexts, dict[str, Any]]:
    """``--self-train``'s first stage: train the ``teacher`` in ``teacher/`` (or, resuming, take the labels it gave
    before, with the record of its training) and let it label the unlabelled texts; returns the training texts with
    those it labelled confidently, and the record of the stage."""
    opts, labels, unlabeled = fit.opts, fit.labels, found.unlabeled
    where = run_dir / TEACHER_DIR
    where.mkdir(exist_ok=True)
    candidates = encode_texts(unlabeled, texts.tokenizer, texts.vocab, opts.max_length, subwords=texts.subwords)
    fingerprint_ = f"{identity}/teacher"
    saved = saved_pseudo_labels(where, fingerprint_, len(candidates), len(labels)) if opts.resume else None
    if saved is None:
        teacher_members = fit_classifier(teacher, texts.train, where, fingerprint_, found.source, "teacher: ", fit=fit)
        saved = (*pseudo_labels(teacher, candidates, opts.self_train_confidence), teacher_members)
        if fit.replicas is None or fit.replicas.main:
            save_pseudo_labels(where, fingerprint_, *saved)
    kept, pseudo, teacher_members = saved
    counts = dict(zip(labels, np.bincount(pseudo, minlength=len(labels)).tolist(), strict=True))
    say(
        f"self-training: the teacher labelled {len(kept):,} of {len(candidates):,} unlabelled texts with confidence >= "
        f"{opts.self_train_confidence:g} ({', '.join(f'{label}: {n:,}' for label, n in counts.items())})",
        quiet=opts.quiet,
    )
    warn_about_pseudo_labels(opts, kept, counts)
    train_set = encode_texts(
        [*texts.texts(found), *(unlabeled[i] for i in kept)],
        texts.tokenizer,
        texts.vocab,
        opts.max_length,
        [*texts.train.labels.tolist(), *pseudo.tolist()],
        texts.subwords,
    )
    record = {
        "unlabeled": len(candidates),
        "pseudo_labeled": len(kept),
        "confidence": opts.self_train_confidence,
        "pseudo_label_counts": counts,
        "teacher_members": teacher_members,
    }
    return train_set, record


def warn_about_pseudo_labels(opts: TrainOptions, kept: np.ndarray, counts: dict[str, int]) -> None:
    """Say so when the teacher labelled no text confidently, or gave some class to none."""
    missing = [label for label, n in counts.items() if n == 0]
    if not len(kept):
        warnings.warn(
            f"--self-train: the teacher gave no unlabelled text a label with confidence >= "
            f"{opts.self_train_confidence:g}, so the model learns from the labelled texts alone; lower "
            "--self-train-confidence",
            RnnkitWarning,
            stacklevel=6,
        )
    elif missing:
        warnings.warn(
            f"--self-train: the teacher gave no unlabelled text the label(s) {', '.join(map(repr, missing[:5]))}, "
            "so the model learns them from the labelled texts alone; the teacher's validation scores (config.json: "
            "training.self_training.teacher_members) say how far to trust it",
            RnnkitWarning,
            stacklevel=6,
        )


def trained_on(train: int, valid: EncodedTexts | None) -> str:
    """``5,400 train / 600 validation texts``, or, with no validation cut, that every text is trained on."""
    if valid is None:
        return f"all {train:,} texts trained on, no validation: the last epoch is kept"
    return f"{train:,} train / {len(valid):,} validation texts"


def fit_classifier(
    model: torch.nn.Module,
    train: EncodedTexts,
    run_dir: Path,
    identity: str,
    source: str,
    stage: str = "",
    *,
    fit: Fitting,
) -> list[dict[str, Any]]:
    """Train a classifier's networks (each member with its own seed, checkpoints in its own directory under
    ``run_dir``) and return each one's record: its seed, best epoch and history. ``source`` says where the
    ``train`` texts come from; ``stage`` names the networks in the progress bar."""
    opts, count = fit.opts, len(members_of(model))
    say(
        f"{stage}training on {source} ({trained_on(len(train), fit.valid)}, {len(fit.labels)} classes, "
        f"{fit.vocab_size} words; {count} network{'s' if count > 1 else ''}) -> "
        f"{run_dir}",
        quiet=opts.quiet,
    )
    runs = [
        MemberRun(
            # Member 1 keeps the run's seed, so a one-member run is the plain single network.
            config=replace(fit.config, seed=opts.seed + MEMBER_SEED_STEP * i),
            run_dir=member_dir,
            resume=opts.resume and (member_dir / "checkpoint.pt").exists(),
            fingerprint=f"{identity}/{i}",
            name=stage + (f"member {i + 1}/{count}, " if count > 1 else ""),
        )
        for i, member_dir in enumerate(member_dirs(run_dir, count))
    ]
    for run in runs:
        run.run_dir.mkdir(exist_ok=True)
    results = fit_members(
        members_of(model), runs, train, fit.valid, fit.labels, jobs=min(opts.jobs, count), progress=not opts.quiet,
        replicas=fit.replicas,
    )  # fmt: skip
    return [
        {"seed": run.config.seed, "best_epoch": result.best_epoch, "history": result.history}
        for run, result in zip(runs, results, strict=True)
    ]
