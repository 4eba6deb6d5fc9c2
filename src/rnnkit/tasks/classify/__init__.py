"""Text classification: a label per text. The task the project began with, and the lesson's: the shared body read
by a pooling of its outputs and a linear layer over the classes, trained with adversarial moves of the word
embeddings; ensembles of networks from different seeds; pretraining of the body as a language model and
self-training on unlabelled texts.

The package: ``config`` (the network's settings), ``network`` (the classifier, the bag of embeddings, the
ensemble), ``objective`` (length-bucketed batches, cross-entropy, accuracy and macro-F1 on validation), ``train``
(from a labelled file to a trained model), ``members`` (an ensemble's members, in turn or in processes),
``pretrain_*``/``pretraining`` and ``selftraining`` (few labels), ``predictor`` (the torch-free use side, on
onnxruntime), ``pipeline`` (the torch use side), ``graph`` (ONNX), ``exported`` (an exported file read back),
``report`` (figures as printed), ``inspect`` and ``drawing`` (what ``rnnkit inspect`` reads and shows), ``serve``
(``POST /predict``).
"""

from __future__ import annotations

import os
from typing import Any

from rnnkit.errors import RnnkitError
from rnnkit.tasks import Option, Task, register
from rnnkit.tasks.classify.presets import (
    AUTO_ENSEMBLE,
    AUTO_ENSEMBLE_MAX_TEXTS,
    DEFAULT_PRESET,
    MAX_MEMBERS,
    PRESETS,
)

OPTIONS = (
    Option(
        "preset",
        "A classifier's set of defaults: fast, one adversarially trained network reading sub-words (10,000 buckets); "
        "accurate, five networks without sub-words averaged below 20,000 training texts (about 4.5 times the time). "
        "Options given still win.",
        choices=tuple(PRESETS),
    ),
    Option(
        "text_column",
        "The column holding the text (default: text, sentence, review, ...); repeat to join several columns.",
        kind="list",
    ),
    Option("label_column", "The column holding the labels (default: label, class, category, ...)."),
    Option("classes", "A file naming the classes, one per line; line 1 names label 0.", kind="file"),
    Option(
        "model",
        "rnn: the recurrent network; bag: the order-blind bag-of-embeddings baseline.",
        choices=("rnn", "bag"),
    ),
    Option(
        "vectors",
        "Start the embedding from pretrained word vectors in a local text file (word2vec, GloVe, fastText).",
        kind="file",
    ),
    Option(
        "pretrain",
        "First train a language model of the texts (forward and backward for a bidirectional encoder), then fine-tune "
        "its body as the classifier's; its vocabulary becomes the classifier's.",
        kind="flag",
        default=False,
    ),
    Option(
        "unlabeled",
        "Unlabelled texts, for --pretrain's language model and for --self-train: one per line, or the text column of "
        "a CSV, TSV or JSONL file.",
        kind="file",
    ),
    Option("pretrain_epochs", "Epochs of --pretrain's language model.", kind="int", minimum=1),
    Option(
        "self_train",
        "Train a first classifier, let it label the --unlabeled texts, then train the model afresh on the labelled "
        "texts and the unlabelled ones it labelled with --self-train-confidence (pseudo-labels).",
        kind="flag",
        default=False,
    ),
    Option(
        "self_train_confidence",
        "The least probability of a pseudo-label that --self-train keeps (0 keeps every unlabelled text).",
        kind="float",
        minimum=0,
    ),
    Option(
        "self_train_epochs",
        "Epochs of --self-train's model on the pseudo-labels.",
        kind="int",
        minimum=1,
        auto="--epochs",
    ),
    Option(
        "encoder",
        "Start from a language model trained earlier (rnnkit train --task lm): the classifier takes its tokenizer, "
        "vocabulary and body (its sizes; forwards) and is fine-tuned from it.",
        kind="dir",
    ),
    Option("pooling", choices=("last", "mean", "max", "attention", "concat")),
    Option(
        "ensemble",
        "Networks trained from different seeds, their probabilities averaged.",
        kind="int",
        minimum=1,
        auto=f"{AUTO_ENSEMBLE} below {AUTO_ENSEMBLE_MAX_TEXTS:,} training texts, else 1",
    ),
    Option(
        "jobs",
        "Ensemble members trained at once, each in a process of its own (2 on a 2-core CPU: 1.1-1.5x faster).",
        kind="int",
        minimum=1,
    ),
    Option("metric", "The validation score that picks the best epoch.", choices=("accuracy", "macro_f1")),
)

# The classifier's defaults, the one place they live: chosen on validation (benchmarks/RESULTS.md).
DEFAULTS: dict[str, Any] = {
    "preset": DEFAULT_PRESET,
    "format": None,  # guessed from the file's extension
    "delimiter": None,  # sniffed from the header
    "tokenizer": "word",
    "lowercase": True,
    "max_length": 400,
    "min_freq": 2,  # words seen once become <unk>, so training sees <unk> too
    "model": "rnn",
    "bidirectional": True,
    "layers": 1,
    "hidden": 128,
    "embedding_dim": 128,
    "pooling": "max",
    "subwords": 0,
    "dropout": 0.3,
    "word_dropout": 0.0,
    "jobs": 1,
    "epochs": 10,
    "batch_size": 32,
    "lr": 5e-3,
    "weight_decay": 0.01,
    "label_smoothing": 0.0,
    "adversarial": 5.0,  # L2 size per text of the adversarial move of the embeddings
    "average": 0.0,
    "metric": "macro_f1",  # unlike accuracy, it does not reward neglecting a small class
    "pretrain_epochs": 3,
    # 0.7, 0.8 and 0.9 scored alike on SST-2's dev sentences with 1,000 labels (benchmarks/RESULTS.md)
    "self_train_confidence": 0.8,
}


class Classify(Task):
    name = "classify"
    title = "a text classifier"
    plural = "text classifiers"
    noun = "classifier"
    verb = "predict"
    cli_module = "rnnkit.tasks.classify.cli"
    evaluation_plots = ("confusion.png", "f1.png")
    page = {"form": "text", "endpoint": "/predict", "button": "Predict", "answer": "labels"}
    options = OPTIONS
    defaults = DEFAULTS
    labels = "classes"

    def resolve(self, options: Any) -> dict[str, Any]:
        """The defaults under the preset asked for (``fast`` unless another is): the preset's settings over the
        table's."""
        preset = options.preset or DEFAULT_PRESET
        if preset not in PRESETS:
            raise RnnkitError(f"--preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        chosen = dict(PRESETS[preset])
        if options.model == "bag":
            chosen.pop("subwords", None)  # the bag of embeddings reads no sub-words, unless asked (and refused)
        return {**super().resolve(options), **chosen, "preset": preset}

    def check(self, o: Any) -> None:
        if o.unlabeled and not (o.pretrain or o.self_train):
            raise RnnkitError(
                "--unlabeled texts are for --pretrain's language model or for --self-train to label: add --pretrain or "
                "--self-train"
            )
        if o.self_train and not o.unlabeled:
            raise RnnkitError("--self-train labels unlabelled texts: give them with --unlabeled FILE")
        if o.pretrain and o.encoder:
            raise RnnkitError("--encoder gives a pretrained body and --pretrain trains one: choose one of them")
        if (o.pretrain or o.encoder) and o.model == "bag":
            raise RnnkitError("--pretrain and --encoder give a recurrent body: leave out --model bag")
        if o.pretrain and o.bidirectional and (o.layers or 1) > 1:
            raise RnnkitError(
                "--pretrain: a bidirectional body is pretrained one layer deep (deeper, each direction would see what "
                "the other must predict): use --layers 1, or --no-bidirectional"
            )
        if o.self_train_confidence is not None and not 0.0 <= o.self_train_confidence <= 1.0:
            raise RnnkitError(f"--self-train-confidence must be in [0, 1], got {o.self_train_confidence}")
        if o.ensemble is not None and not 1 <= o.ensemble <= MAX_MEMBERS:
            raise RnnkitError(f"--ensemble must be in 1..{MAX_MEMBERS}, got {o.ensemble}")
        if (o.jobs or 1) > 1 and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise RnnkitError(
                "--jobs trains members in processes of their own, which torchrun's processes cannot do: leave it out "
                "(an ensemble's members train one after another, each on every process)"
            )
        if (o.nproc or 1) > 1 and (o.jobs or 1) > 1:
            raise RnnkitError(
                "--jobs trains members in processes of their own, which --nproc's processes cannot do: leave --jobs "
                "out (an ensemble's members train one after another, each on every process)"
            )
        if o.subwords and o.model == "bag":
            raise RnnkitError("--subwords is read by the recurrent network: leave it out with --model bag")

    @property
    def config_class(self) -> type:
        from rnnkit.tasks.classify.config import ClassifierConfig

        return ClassifierConfig

    def train(self, data: Any, options: Any) -> Any:
        from rnnkit.tasks.classify.train import train

        return train(data, options)

    def build(self, config: Any) -> Any:
        from rnnkit.tasks.classify.network import build_classifier

        return build_classifier(config)

    def pipeline(self, saved: Any, engine: str = "auto") -> Any:
        from rnnkit.tasks.classify.pipeline import Pipeline

        return Pipeline.from_saved(saved, engine)

    def onnx_model(self, saved: Any, source: str) -> Any:
        from rnnkit.tasks.classify.predictor import OnnxPredictor

        return OnnxPredictor.from_saved(saved, source)

    def training_summary(self, model: Any) -> list[str]:
        from rnnkit.tasks.classify.report import training_summary

        return training_summary(model)

    def format_report(self, report: dict[str, Any]) -> str:
        from rnnkit.tasks.classify.report import format_report

        return format_report(report)

    def evaluation_figures(self, report: dict[str, Any]) -> dict[str, Any]:
        from rnnkit.plots import evaluation_figures

        return evaluation_figures(report)

    def curves(self, training: dict[str, Any]) -> tuple[str, bool]:
        return training["options"]["metric"], False  # the score that picked the best epoch

    def export(self, saved: Any, metadata: dict[str, str]) -> Any:
        from rnnkit.tasks.classify.export import graph

        return graph(saved, metadata)

    def export_difference(self, saved: Any, data: bytes) -> float:
        from rnnkit.tasks.classify.export import difference

        return difference(saved, data)

    def read_exported(self, exported: Any) -> Any:
        from rnnkit.tasks.classify.export import read

        return read(exported)

    def inspect(self, model: Any, text: Any, member: int | None, attributions: bool) -> dict[str, Any]:
        from rnnkit.tasks.classify.inspect import inspect

        return inspect(model, text if isinstance(text, str) else " ".join(text), member, attributions)

    def unit_readings(self, model: Any, member: int | None) -> Any:
        from rnnkit.tasks.classify.inspect import unit_readings

        return unit_readings(model, member)

    @property
    def drawing(self) -> Any:
        from rnnkit.tasks.classify import drawing

        return drawing

    def endpoints(self) -> tuple[str, ...]:
        return ("/predict",)

    def mount(self, app: Any, service: Any) -> None:
        from rnnkit.tasks.classify.serve import mount

        mount(app, service)


register(Classify())
