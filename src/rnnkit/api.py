"""``rnnkit.train``: from a labelled file to a trained, saved, evaluated :class:`~rnnkit.pipeline.Pipeline`.

Keyword arguments are named as the command line's options (dashes as underscores), so a command that works
reads the same in Python: ``rnnkit train data.csv --cell gru --hidden 256`` is
``rnnkit.train("data.csv", cell="gru", hidden=256)``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import warnings
from collections import Counter
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.data import EncodedTexts, Examples, encode_texts, read_class_names, read_examples, stratified_split
from rnnkit.data.bundled import ag_news_sample
from rnnkit.data.corpus import corpus_tokens, read_corpus
from rnnkit.data.labels import label_order, label_problems
from rnnkit.data.tagged import TaggedCorpus, is_tagged_file, read_tagged
from rnnkit.data.unlabeled import read_unlabeled
from rnnkit.data.vectors import read_vectors
from rnnkit.errors import DataError, RnnkitError, RnnkitWarning
from rnnkit.io import atomic_write_bytes, atomic_write_json
from rnnkit.modeldir import SavedModel, read_model_dir
from rnnkit.models import ClassifierConfig, LanguageModelConfig, TaggerConfig, build_model, members_of
from rnnkit.models.pretraining import BODY, start_from
from rnnkit.options import TrainOptions, ensemble_members
from rnnkit.pipeline import LanguageModelPipeline, Pipeline, TaggerPipeline
from rnnkit.plots import notice_missing, plots_available, png, training_curves
from rnnkit.rundir import (
    CHECKPOINT,
    CURVES,
    STAGE_DIRS,
    TEACHER_DIR,
    TEST_REPORT,
    choose_run_dir,
    data_name,
    final_dir,
    member_dirs,
    prepare_run_dir,
    promote,
    run_dir_for,
)
from rnnkit.tagger import check_tags
from rnnkit.tasks.language_model import LanguageModelTask
from rnnkit.tasks.tag import TagTask
from rnnkit.text import TOKENIZERS, CharTokenizer, Vocab, WordTokenizer
from rnnkit.text.sentences import encode_sentences, word_key
from rnnkit.text.subwords import Subwords
from rnnkit.training import TrainConfig, classification_report, seed_everything, train_loop
from rnnkit.training.device import choose_device
from rnnkit.training.distributed import Replicas, agree, replicas_from_environment
from rnnkit.training.members import MemberRun, fit_members
from rnnkit.training.pretraining import pretrain_body, pretraining_loop
from rnnkit.training.selftraining import pseudo_labels, save_pseudo_labels, saved_pseudo_labels
from rnnkit.training.trainer import evaluate_model

OPTION_NAMES = tuple(f.name for f in fields(TrainOptions))
# Options that say how a run goes, not what it trains: left out of the saved settings and the resume fingerprint.
# Options that never change the model (the device changes only the rounding): a run resumes with other ones.
RUN_ONLY_OPTIONS = ("out", "resume", "overwrite", "quiet", "checkpoint_every", "nproc", "device")
MEMBER_SEED_STEP = 7919  # a prime: members of runs with neighbouring seeds never share a seed


def say(*lines: str, quiet: bool) -> None:
    """What the run is doing, on standard error, unless ``quiet``."""
    if not quiet:
        for line in lines:
            print(line, file=sys.stderr)


def train_options(options: dict[str, Any]) -> TrainOptions:
    """``rnnkit.train``'s keywords as checked :class:`TrainOptions`; unknown names are refused."""
    if "progress" in options:  # rnnkit 0.1's keyword, the opposite of --quiet
        warnings.warn("rnnkit.train(progress=...) is now quiet=...", DeprecationWarning, stacklevel=3)
        options = dict(options)
        options["quiet"] = not options.pop("progress")
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown}; rnnkit.train takes {', '.join(OPTION_NAMES)}")
    return TrainOptions(**options).resolve()


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
        warnings.warn(f"{problem}; --strict makes this an error", RnnkitWarning, stacklevel=4)
    return labels


def majority_baseline(
    valid_report: dict[str, Any], valid_truth: np.ndarray, train_labels: list[str], labels: list[str], metric: str
) -> dict[str, Any]:
    """The validation figures of always answering the most frequent training class, and a warning when the
    model does no better: a network that learnt nothing still finishes, and only these figures show it."""
    counts = Counter(train_labels)
    majority = max(labels, key=lambda label: counts[label])
    always = classification_report(valid_truth, np.full(len(valid_truth), labels.index(majority)), labels)
    baseline = {"label": majority, "accuracy": always["accuracy"], "macro_f1": always["macro_f1"]}
    if valid_report[metric] <= baseline[metric] + 1e-9:
        warnings.warn(
            f"the model is no better than always answering {majority!r}: on the validation cut it scores "
            f"macro-F1 {valid_report['macro_f1']:.3f} against {baseline['macro_f1']:.3f} and accuracy "
            f"{valid_report['accuracy']:.3f} against {baseline['accuracy']:.3f}; train longer (--epochs), add data, "
            f"or check that the labels fit the texts",
            RnnkitWarning,
            stacklevel=4,
        )
    return baseline


def train(
    data: str | Path | list[str | Path] | None = None, **options: Any
) -> Pipeline | LanguageModelPipeline | TaggerPipeline:
    """Train a model and return it, saved in its run directory: a text classifier on a labelled file (the
    default, ``task="classify"``), a language model on running text (``task="lm"``; one file or a list), or a
    sequence tagger on tagged sentences (``task="tag"``, implied by a ``.conllu`` file).

    With ``data=None`` it trains a classifier on the bundled AG News sample and reports on its test split. The test
    report, if any, is in ``pipeline.report``; each network's per-epoch history in
    ``pipeline.training["members"][k]["history"]`` (one member unless it is an ensemble), the validation figures
    in ``pipeline.training["valid"]``.
    """
    if "task" not in options and data is not None and not isinstance(data, list | tuple) and is_tagged_file(data):
        options = {**options, "task": "tag"}  # CoNLL-U is the one kind of file that implies its task
    opts = train_options(options)
    device = choose_device(opts.device)  # a GPU asked for where there is none: said before any data is read
    if os.environ.get("RANK", "0") == "0":
        run_dir_for(opts, run_name(data))  # an --out that would be refused: said before any data is read
        warn_held_out_is_training(data, opts)
    if opts.nproc is not None and opts.nproc > 1 and "WORLD_SIZE" not in os.environ:
        return train_in_processes(data, opts)
    replicas = replicas_from_environment(device)  # under torchrun: this process's place among the others
    if replicas is not None:
        if (opts.jobs or 1) > 1:
            raise RnnkitError(
                "--jobs trains members in processes of their own, which torchrun's processes cannot do: leave it out "
                "(an ensemble's members train one after another, each on every process)"
            )
        if not replicas.main:
            opts = replace(opts, quiet=True)  # process 0 speaks for all
    if opts.task == "lm":
        return train_language_model(data, opts)
    if opts.task == "tag":
        return train_tagger(data, opts)
    return train_classifier(data, opts)


def train_in_processes(
    data: str | Path | list[str | Path] | None, opts: TrainOptions
) -> Pipeline | LanguageModelPipeline | TaggerPipeline:
    """``rnnkit.train(..., nproc=N)``: the same call in N new processes under ``torchrun`` on this machine
    (:mod:`rnnkit.training.launch`), then the model and its test report read from the run directory, chosen here
    first so that it is known."""
    from rnnkit.pipeline import load
    from rnnkit.training.launch import train_in_processes as launch

    run_dir = choose_run_dir(opts, run_name(data)) if opts.out is None else Path(opts.out)
    options = {k: v for k, v in asdict(opts).items() if k != "nproc"} | {"out": str(run_dir)}
    source = [str(d) for d in data] if isinstance(data, list | tuple) else None if data is None else str(data)
    launch(opts.nproc, source, options)
    run_dir = final_dir(run_dir)  # a run that replaced a finished model trained beside it
    pipeline = load(run_dir, engine="torch")
    pipeline.run_dir = run_dir
    report = run_dir / TEST_REPORT
    pipeline.report = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
    return pipeline


def warn_held_out_is_training(data: str | Path | list[str | Path] | None, opts: TrainOptions) -> None:
    """Warn when ``--test`` or ``--valid`` names a training file: its figures would be those of text the model
    learnt from, which say nothing of how it does on new text."""
    sources = data if isinstance(data, list | tuple) else [] if data is None else [data]
    training = {Path(p).resolve() for p in sources if Path(p).exists()}
    for option, path in (("--test", opts.test), ("--valid", opts.valid)):
        if path is not None and Path(path).exists() and Path(path).resolve() in training:
            warnings.warn(
                f"{option} {path} is the training file: its figures are of texts the model learnt from, not of new "
                "ones; hold out a file of its own",
                RnnkitWarning,
                stacklevel=3,
            )


def run_name(data: str | Path | list[str | Path] | None) -> str:
    """A run's default directory name: its (first) data file's (:func:`rnnkit.rundir.data_name`), or the bundled
    sample's."""
    first = (data[0] if data else None) if isinstance(data, list | tuple) else data
    return data_name(Path(first)) if first else "ag_news_sample"


def train_classifier(data: str | Path | None, opts: TrainOptions) -> Pipeline:
    """:func:`train` for ``task="classify"``."""
    if isinstance(data, list | tuple):
        raise RnnkitError("a classifier trains on one labelled file; join the files, or name one and pass --valid")
    if data is None:
        bundled = ag_news_sample()
        data, name = bundled.train, "ag_news_sample"
        if opts.test is None:
            opts.test = str(bundled.test)
        if opts.classes is None:
            opts.classes = str(bundled.classes)
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
    unseen = sorted(set(test.labels) - set(labels)) if test is not None else []
    if unseen:  # refuse now, not after the training it would waste
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

    encoder = read_encoder(opts.encoder) if opts.encoder else None
    if encoder is not None:
        c = encoder.config
        opts = replace(
            opts, cell=c.cell, embedding_dim=c.embedding_dim, hidden=c.hidden_size, layers=c.num_layers,
            subwords=c.subwords,
        )  # fmt: skip
        opts.bidirectional = False  # a language model reads forwards
        say(
            f"starting from the language model {opts.encoder}: its tokenizer, its {len(encoder.vocab):,} tokens and "
            f"its body ({c.cell.upper()} {c.num_layers}x{c.hidden_size}, embedding {c.embedding_dim}, forwards)",
            quiet=opts.quiet,
        )
    unlabeled: list[str] = []
    if opts.unlabeled:
        extra = read_unlabeled(opts.unlabeled, opts.text_column)
        say(f"{extra.summary()} (unlabelled)", quiet=opts.quiet)
        unlabeled = extra.texts

    seed_everything(opts.seed)
    if valid is not None:  # the given validation file, appended after the training rows
        train_idx, valid_idx = list(range(len(examples))), list(range(len(examples), len(examples) + len(valid)))
        examples = Examples(examples.texts + valid.texts, examples.labels + valid.labels, examples.source)
    elif opts.valid_split > 0:
        train_idx, valid_idx = stratified_split(examples.labels, opts.valid_split, opts.seed)
    else:
        train_idx, valid_idx = list(range(len(examples))), []
    subwords = Subwords(opts.subwords) if opts.subwords else None
    train_texts = [examples.texts[i] for i in train_idx]
    if encoder is not None:  # the language model's tokenizer and vocabulary, with its body
        tokenizer, vocab = encoder.tokenizer, encoder.vocab
    else:  # with --pretrain, the language model's words: those of the training and the unlabelled texts
        tokenizer = TOKENIZERS[opts.tokenizer](lowercase=opts.lowercase)
        words = (tokenizer(t) for t in [*train_texts, *unlabeled])
        vocab = Vocab.build(words, min_freq=opts.min_freq, max_size=opts.max_vocab)
    label_index = {label: i for i, label in enumerate(labels)}

    def encode(indices: list[int]):
        return encode_texts(
            [examples.texts[i] for i in indices],
            tokenizer,
            vocab,
            opts.max_length,
            [label_index[examples.labels[i]] for i in indices],
            subwords,
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
            subwords=opts.subwords,
        )
        train_config = loop_config(opts)
    except ValueError as e:
        raise RnnkitError(str(e)) from None
    vectors = read_vectors(opts.vectors, vocab, opts.embedding_dim) if opts.vectors else None
    if vectors is not None:
        say(f"{int(vectors[1].sum())} of {len(vocab) - 2} words found in {opts.vectors}", quiet=opts.quiet)

    def new_model() -> torch.nn.Module:
        """A network of ``model_config`` as it starts: random, with the ``--vectors`` words' vectors."""
        model = build_model(model_config)
        if vectors is not None:
            table, found = vectors
            with torch.no_grad():
                for member in members_of(model):
                    member.embedding.weight[found] = table[found]
        return model

    model = new_model()
    replicas = replicas_from_environment()
    run_dir = make_run_dir(opts, name, model, train_config, replicas)
    settings = {k: v for k, v in asdict(opts).items() if k not in RUN_ONLY_OPTIONS}
    fingerprint = hashlib.sha256(
        json.dumps(
            [settings, str(data), labels, vocab.tokens, len(train_idx), world(replicas)], sort_keys=True
        ).encode()
    ).hexdigest()
    pretraining, body = None, None
    if opts.pretrain:
        say(f"pretraining a language model on {len(train_texts) + len(unlabeled):,} texts", quiet=opts.quiet)
        corpus = encode_texts([*train_texts, *unlabeled], tokenizer, vocab, opts.max_length, subwords=subwords)
        body, pretraining = pretrain_body(
            model_config,
            corpus,
            valid_set,
            pretraining_loop(train_config, opts.pretrain_epochs),
            run_dir,
            opts.resume,
            f"{fingerprint}/pretrain",
            progress=not opts.quiet,
            replicas=replicas,
            embedding=members_of(model)[0].embedding.weight.detach() if opts.vectors else None,
        )
    if encoder is not None:
        body = {k: torch.from_numpy(v) for k, v in encoder.weights.items() if k.startswith(BODY)}
    for member in members_of(model) if body is not None else []:
        start_from(member, body)
    fit = dict(
        train_config=train_config, valid=valid_set, labels=labels, opts=opts, replicas=replicas, vocab_size=len(vocab)
    )
    self_training = None
    if opts.self_train:  # the model above is the teacher; the model trained below starts afresh
        texts = encode_texts(unlabeled, tokenizer, vocab, opts.max_length, subwords=subwords)
        kept, pseudo, self_training = teach(
            model, train_set, texts, run_dir / TEACHER_DIR, f"{fingerprint}/teacher", str(data), fit
        )
        train_set = encode_texts(
            [*train_texts, *(unlabeled[i] for i in kept)],
            tokenizer,
            vocab,
            opts.max_length,
            [*train_set.labels.tolist(), *pseudo.tolist()],
            subwords,
        )
        model = new_model()
        fit["train_config"] = replace(train_config, epochs=opts.self_train_epochs or train_config.epochs)
    source = f"{data} and {self_training['pseudo_labeled']} pseudo-labelled texts" if self_training else str(data)
    members = fit_classifier(model, train_set, run_dir, fingerprint, source, **fit)
    valid_report = baseline = None
    if valid_set is not None:
        valid_report = evaluate_model(model, valid_set, labels)
        train_labels = [examples.labels[i] for i in train_idx]
        baseline = majority_baseline(valid_report, valid_set.labels.numpy(), train_labels, labels, opts.metric)
    training = {
        "data": str(data),
        "data_columns": columns,
        "options": settings,
        "train_examples": len(train_idx),
        "valid_examples": len(valid_idx),
        "valid": None if valid_report is None else {k: valid_report[k] for k in ("accuracy", "macro_f1")},
        "valid_baseline": baseline,
        "members": members,
        **({"pretraining": pretraining} if pretraining is not None else {}),
        **({"self_training": self_training} if self_training is not None else {}),
    }
    pipeline = Pipeline(tokenizer, vocab, labels, model, model_config, opts.max_length, training)
    return finish(pipeline, run_dir, test, model_config.members, replicas)


def teach(
    teacher: torch.nn.Module,
    train: EncodedTexts,
    unlabeled: EncodedTexts,
    where: Path,
    fingerprint: str,
    source: str,
    fit: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """``--self-train``'s first stage: train the ``teacher`` in ``where`` (or, resuming, take the labels it gave
    before, with the record of its training) and let it label the ``unlabeled`` texts; returns the indices of those
    it labelled confidently, their labels, and the record of the stage."""
    opts, labels = fit["opts"], fit["labels"]
    where.mkdir(exist_ok=True)
    saved = saved_pseudo_labels(where, fingerprint, len(unlabeled), len(labels)) if opts.resume else None
    if saved is None:
        teacher_members = fit_classifier(teacher, train, where, fingerprint, source, "teacher: ", **fit)
        saved = (*pseudo_labels(teacher, unlabeled, opts.self_train_confidence), teacher_members)
        if fit["replicas"] is None or fit["replicas"].main:
            save_pseudo_labels(where, fingerprint, *saved)
    kept, pseudo, teacher_members = saved
    counts = dict(zip(labels, np.bincount(pseudo, minlength=len(labels)).tolist(), strict=True))
    say(
        f"self-training: the teacher labelled {len(kept):,} of {len(unlabeled):,} unlabelled texts with confidence >= "
        f"{opts.self_train_confidence:g} ({', '.join(f'{label}: {n:,}' for label, n in counts.items())})",
        quiet=opts.quiet,
    )
    missing = [label for label, n in counts.items() if n == 0]
    if not len(kept):
        warnings.warn(
            f"--self-train: the teacher gave no unlabelled text a label with confidence >= "
            f"{opts.self_train_confidence:g}, so the model learns from the labelled texts alone; lower "
            "--self-train-confidence",
            RnnkitWarning,
            stacklevel=4,
        )
    elif missing:
        warnings.warn(
            f"--self-train: the teacher gave no unlabelled text the label(s) {', '.join(map(repr, missing[:5]))}, "
            "so the model learns them from the labelled texts alone; the teacher's validation scores (config.json: "
            "training.self_training.teacher_members) say how far to trust it",
            RnnkitWarning,
            stacklevel=4,
        )
    record = {
        "unlabeled": len(unlabeled),
        "pseudo_labeled": len(kept),
        "confidence": opts.self_train_confidence,
        "pseudo_label_counts": counts,
        "teacher_members": teacher_members,
    }
    return kept, pseudo, record


def fit_classifier(
    model: torch.nn.Module,
    train: EncodedTexts,
    run_dir: Path,
    fingerprint: str,
    source: str,
    stage: str = "",
    *,
    train_config: TrainConfig,
    valid: EncodedTexts | None,
    labels: list[str],
    opts: TrainOptions,
    replicas: Replicas | None,
    vocab_size: int,
) -> list[dict[str, Any]]:
    """Train a classifier's networks (each member with its own seed, checkpoints in its own directory under
    ``run_dir``) and return each one's record: its seed, best epoch and history. ``source`` says where the
    ``train`` texts come from; ``stage`` names the networks in the progress bar."""
    count = len(members_of(model))
    say(
        f"{stage}training on {source} ({len(train)} train / {0 if valid is None else len(valid)} validation texts, "
        f"{len(labels)} classes, {vocab_size} words; {count} network{'s' if count > 1 else ''}) -> {run_dir}",
        quiet=opts.quiet,
    )
    runs = [
        MemberRun(
            # Member 1 keeps the run's seed, so a one-member run is the plain single network.
            config=replace(train_config, seed=opts.seed + MEMBER_SEED_STEP * i),
            run_dir=member_dir,
            resume=opts.resume and (member_dir / CHECKPOINT).exists(),
            fingerprint=f"{fingerprint}/{i}",
            name=stage + (f"member {i + 1}/{count}, " if count > 1 else ""),
        )
        for i, member_dir in enumerate(member_dirs(run_dir, count))
    ]
    for run in runs:
        run.run_dir.mkdir(exist_ok=True)
    results = fit_members(
        members_of(model), runs, train, valid, labels, jobs=min(opts.jobs, count), progress=not opts.quiet,
        replicas=replicas,
    )  # fmt: skip
    return [
        {"seed": run.config.seed, "best_epoch": result.best_epoch, "history": result.history}
        for run, result in zip(runs, results, strict=True)
    ]


def read_encoder(path: str) -> SavedModel:
    """``--encoder``: a language model's directory (``rnnkit train --task lm``), read and checked."""
    saved = read_model_dir(path)
    if saved.task != "lm":
        raise RnnkitError(f"--encoder {path}: a {saved.task} model; give a language model (rnnkit train --task lm)")
    return saved


def train_language_model(data: str | Path | list[str | Path] | None, opts: TrainOptions) -> LanguageModelPipeline:
    """:func:`train` for ``task="lm"``: a language model on running text, one file or several read in order."""
    if data is None or (isinstance(data, list | tuple) and not data):
        raise RnnkitError("a language model learns from text: rnnkit train corpus.txt --task lm")
    paths = [Path(p) for p in data] if isinstance(data, list | tuple) else [Path(data)]
    characters = opts.tokenizer == "char"
    tokenizer = (
        CharTokenizer(lowercase=opts.lowercase, keep_whitespace=True)
        if characters
        else WordTokenizer(lowercase=opts.lowercase)
    )
    unit = "characters" if characters else "tokens"
    tokens = corpus_tokens(read_corpus(paths), tokenizer)
    if opts.valid is not None:
        train_tokens, valid_tokens = tokens, corpus_tokens(read_corpus(opts.valid), tokenizer)
        held_out = f"validation: {len(valid_tokens):,} {unit} of {opts.valid}"
    else:  # the tail of the text, as nanoGPT and the PyTorch example cut theirs: no sentence split in two twice
        cut = round(len(tokens) * (1 - opts.valid_split))
        train_tokens, valid_tokens = tokens[:cut], tokens[cut:] if opts.valid_split > 0 else []
        held_out = f"validation: the last {len(valid_tokens):,} {unit}" if valid_tokens else "no validation"
    if len(train_tokens) < 2 * opts.batch_size or (valid_tokens and len(valid_tokens) < 2):
        raise DataError(
            f"{paths[0]}: {len(tokens):,} {unit} is too little text for --batch-size {opts.batch_size}; "
            f"give more text or a smaller --batch-size"
        )
    vocab = Vocab.build([train_tokens], min_freq=opts.min_freq, max_size=opts.max_vocab)
    say(
        f"read {len(tokens):,} {unit} of {', '.join(map(str, paths))} ({len(vocab) - 2:,} distinct); {held_out}",
        quiet=opts.quiet,
    )
    train_ids = torch.tensor(vocab.encode(train_tokens), dtype=torch.long)
    valid_ids = torch.tensor(vocab.encode(valid_tokens), dtype=torch.long) if valid_tokens else None
    try:
        config = LanguageModelConfig(
            vocab_size=len(vocab),
            cell=opts.cell,
            embedding_dim=opts.embedding_dim,
            hidden_size=opts.hidden,
            num_layers=opts.layers,
            dropout=opts.dropout,
            weight_drop=opts.weight_drop,
            tie_weights=opts.tie_weights,
            backend=opts.backend,
            subwords=opts.subwords,
        )
        train_config = loop_config(opts)
    except ValueError as e:
        raise RnnkitError(str(e)) from None
    seed_everything(opts.seed)
    model = build_model(config)
    model.spell(vocab.tokens)  # its vocabulary's n-grams, where it reads sub-words
    replicas = replicas_from_environment()
    rank = {"rank": replicas.rank, "world": replicas.world} if replicas else {}
    task = LanguageModelTask(train_ids, valid_ids, opts.batch_size, opts.window, characters, **rank)

    run_dir = make_run_dir(opts, data_name(paths[0]), model, train_config, replicas)
    say(f"training a language model -> {run_dir}", quiet=opts.quiet)
    identity = [list(map(str, paths)), vocab.tokens, len(train_ids)]  # with the options: what a checkpoint must match
    record = train_network(model, task, train_config, opts, run_dir, identity)
    training = {
        "data": [str(p) for p in paths],
        "train_tokens": len(train_ids),
        "valid_tokens": 0 if valid_ids is None else len(valid_ids),
        **record,
    }
    pipeline = LanguageModelPipeline(tokenizer, vocab, model, config, training)
    return finish(pipeline, run_dir, opts.test, replicas=replicas)


def train_tagger(data: str | Path | None, opts: TrainOptions) -> TaggerPipeline:
    """:func:`train` for ``task="tag"``: a sequence tagger on a CoNLL-U or token-per-line file."""
    if data is None or isinstance(data, list | tuple):
        raise RnnkitError("a tagger learns from one tagged file: rnnkit train train.conllu --task tag")
    if Path(data).suffix.lower() in (".csv", ".jsonl", ".json"):
        raise DataError(
            f"{data}: a tagger reads tagged sentences (CoNLL-U, or token per line with a blank line between "
            f"sentences), not labelled texts; for a label per text, leave out --task tag"
        )
    corpus = read_tagged(data, tag_column=opts.tag_column)
    tags = label_order({tag for sentence in corpus.tags for tag in sentence})
    if len(tags) < 2:
        raise DataError(f"{data}: every token has the tag {tags[0]!r}; a tagger needs at least two tags")
    say(corpus.summary(), quiet=opts.quiet)

    def checked(path: str) -> TaggedCorpus:
        other = read_tagged(path, tag_column=opts.tag_column)
        say(other.summary(), quiet=opts.quiet)
        check_tags(other, tags, f"the training data {data}")
        return other

    tag_index = {tag: i for i, tag in enumerate(tags)}
    test = checked(opts.test) if opts.test else None  # refused now, not after the training
    seed_everything(opts.seed)
    sentences = corpus.sentences
    if opts.valid:
        train_sentences, valid_sentences = sentences, checked(opts.valid).sentences
    elif opts.valid_split > 0:  # a seeded random cut of the training sentences
        order = np.random.default_rng(opts.seed).permutation(len(sentences))
        cut = max(1, round(len(sentences) * opts.valid_split))
        if cut >= len(sentences):
            raise DataError(f"{data}: {len(sentences)} sentences are too few to hold some out for validation")
        held = set(order[:cut].tolist())
        train_sentences = [s for i, s in enumerate(sentences) if i not in held]
        valid_sentences = [s for i, s in enumerate(sentences) if i in held]
    else:
        train_sentences, valid_sentences = sentences, []
    lowercase = bool(opts.lowercase)
    words = ([word_key(t, lowercase) for t in s.tokens] for s in train_sentences)
    vocab = Vocab.build(words, min_freq=opts.min_freq, max_size=opts.max_vocab)
    characters = Vocab.build([list(t) for s in train_sentences for t in s.tokens]) if opts.char_hidden else None

    subwords = Subwords(opts.subwords) if opts.subwords else None

    def encode(part):
        return encode_sentences(
            [s.tokens for s in part], vocab, characters, lowercase, [s.tags for s in part], tag_index, subwords
        )

    train_set = encode(train_sentences)
    valid_set = encode(valid_sentences) if valid_sentences else None
    try:
        config = TaggerConfig(
            vocab_size=len(vocab),
            num_tags=len(tags),
            alphabet_size=len(characters) if characters is not None else 0,
            cell=opts.cell,
            embedding_dim=opts.embedding_dim,
            char_hidden_size=opts.char_hidden or TaggerConfig.char_hidden_size,
            hidden_size=opts.hidden,
            num_layers=opts.layers,
            bidirectional=opts.bidirectional,
            dropout=opts.dropout,
            word_dropout=opts.word_dropout,
            lowercase=lowercase,
            crf=bool(opts.crf),
            backend=opts.backend,
            subwords=opts.subwords,
        )
        train_config = replace(loop_config(opts), metric="accuracy")
    except ValueError as e:
        raise RnnkitError(str(e)) from None
    model = build_model(config)
    replicas = replicas_from_environment()
    rank = {"rank": replicas.rank, "world": replicas.world} if replicas else {}
    task = TagTask(train_set, valid_set, opts.batch_size, opts.seed, **rank)
    run_dir = make_run_dir(opts, data_name(Path(data)), model, train_config, replicas)
    say(
        f"training a tagger on {len(train_set):,} sentences ({len(valid_sentences):,} for validation), "
        f"{len(tags)} tags, {len(vocab):,} words -> {run_dir}",
        quiet=opts.quiet,
    )
    record = train_network(model, task, train_config, opts, run_dir, [str(data), tags, vocab.tokens, len(train_set)])
    training = {
        "data": str(data),
        "tag_column": corpus.tag_column,
        "train_sentences": len(train_set),
        "valid_sentences": len(valid_sentences),
        **record,
    }
    tokenizer = TOKENIZERS[opts.tokenizer](lowercase=False)  # raw text keeps its case: the characters need it
    pipeline = TaggerPipeline(tokenizer, vocab, characters, tags, model, config, training)
    return finish(pipeline, run_dir, test, replicas=replicas)


def make_run_dir(
    opts: TrainOptions, name: str, model: torch.nn.Module, config: TrainConfig, replicas: Replicas | None
) -> Path:
    """The run directory, chosen, made and checked for room before any training (by process 0 under torchrun,
    which tells the others)."""

    def choose() -> Path:
        run_dir = choose_run_dir(opts, name)
        prepare_run_dir(run_dir, model, config.average > 0)  # fail now, not after the first epoch
        return run_dir

    return agree(replicas, choose)


def world(replicas: Replicas | None) -> int:
    """How many processes train the model: a checkpoint resumes only with as many (each takes its part)."""
    return 1 if replicas is None else replicas.world


def train_network(
    model: torch.nn.Module, task: Any, config: TrainConfig, opts: TrainOptions, run_dir: Path, identity: list[Any]
) -> dict[str, Any]:
    """Train one network in ``run_dir`` with the one training loop (resumed when asked and a checkpoint is there:
    the checkpoint must come from the same options and data, named by ``identity``), and return what a model
    directory keeps of the run: the options, the best epoch's validation figures, whether the time budget ran
    out, and the history."""
    settings = {k: v for k, v in asdict(opts).items() if k not in RUN_ONLY_OPTIONS}
    replicas = replicas_from_environment()
    identity = [*identity, world(replicas)]
    fingerprint = hashlib.sha256(json.dumps([settings, *identity], sort_keys=True).encode()).hexdigest()
    result = train_loop(
        model,
        task,
        config,
        run_dir,
        resume=opts.resume and (run_dir / CHECKPOINT).exists(),
        fingerprint=fingerprint,
        progress=not opts.quiet,
        replicas=replicas,
    )
    best = result.history[result.best_epoch - 1] if result.history else {}
    return {
        "options": settings,
        "valid": {k.removeprefix("valid_"): v for k, v in best.items() if k.startswith("valid_")} or None,
        "out_of_time": result.out_of_time,
        "members": [{"seed": opts.seed, "best_epoch": result.best_epoch, "history": result.history}],
    }


def finish(pipeline: Any, run_dir: Path, test: Any, members: int = 1, replicas: Replicas | None = None) -> Any:
    """Save a trained ``pipeline`` in its run directory, report on ``test`` (a file or read data) if given, remove
    the checkpoints of its ``members`` (the run is finished, nothing is left to resume), and draw the training
    curves: last, as the one thing a run can do without. Under torchrun, process 0 alone writes."""
    pipeline.run_dir = run_dir
    if replicas is not None and not replicas.main:
        pipeline.report = None
        pipeline.run_dir = final_dir(run_dir)
        return pipeline
    pipeline.save(run_dir)
    pipeline.report = pipeline.evaluate(test) if test is not None else None
    if pipeline.report is not None:
        atomic_write_json(run_dir / TEST_REPORT, pipeline.report)
    for member_dir in member_dirs(run_dir, members):
        (member_dir / CHECKPOINT).unlink(missing_ok=True)
    for stage in STAGE_DIRS:  # --pretrain's language model and --self-train's teacher: what they taught is in the model
        if (run_dir / stage).is_dir():
            shutil.rmtree(run_dir / stage)
    write_curves(pipeline, run_dir)
    pipeline.run_dir = promote(run_dir)  # in place of the finished model it replaces, if any, now that it is whole
    return pipeline


def write_curves(pipeline: Any, run_dir: Path) -> None:
    """Draw ``curves.png`` in ``run_dir`` from each network's per-epoch history: the validation score is the one
    that picked the best epoch (a language model's is its loss, drawn already, so its perplexity instead), and a
    language model's loss is also drawn against time. Without matplotlib, say so once and draw nothing."""
    if not plots_available():
        notice_missing(CURVES)
        return
    training = pipeline.training
    score = {"lm": "perplexity", "tag": "accuracy"}.get(pipeline.task) or training["options"]["metric"]
    histories = [member["history"] for member in training["members"]]
    figure = training_curves(histories, score, against_time=pipeline.task == "lm")
    atomic_write_bytes(run_dir / CURVES, png(figure))


def loop_config(opts: TrainOptions) -> TrainConfig:
    """The training loop's settings from the options (a ``ValueError`` names a bad one)."""
    return TrainConfig(
        epochs=opts.epochs,
        batch_size=opts.batch_size,
        lr=opts.lr,
        schedule=opts.schedule,
        layer_decay=opts.layer_decay,
        unfreeze=opts.unfreeze,
        weight_decay=opts.weight_decay,
        clip=opts.clip,
        patience=opts.patience,
        metric=opts.metric or "macro_f1",
        seed=opts.seed,
        average=opts.average,
        label_smoothing=opts.label_smoothing or 0.0,
        adversarial=opts.adversarial,
        max_minutes=opts.max_minutes,
        checkpoint_every=opts.checkpoint_every,
        device=choose_device(opts.device),
    )
