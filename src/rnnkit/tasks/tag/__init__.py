"""Tagging: a label for every token (parts of speech, named entities). The shared body, bidirectional, with each
word's spelling read by a character encoder, a tag score at every token and, optionally, a conditional random
field over whole tag sequences (Viterbi decoding).

The package: ``config``, ``network``, ``objective`` (sentences in length-bucketed batches; token accuracy decoded as
prediction decodes), ``train`` (from a CoNLL-U or token-per-line file to a trained model), ``tagger`` (the
torch-free use side: tags sentences and files on onnxruntime), ``viterbi``, ``pipeline`` (on torch), ``graph``
(ONNX), ``exported``, ``report``, ``inspect`` and ``drawing``, ``serve`` (``POST /predict``), and ``sizes``
(the defaults that depend on the training data's size).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.errors import RnnkitError
from rnnkit.options import shared_option
from rnnkit.tasks import Option, Task, register
from rnnkit.tasks.tag.sizes import sized

OPTIONS = (
    Option(
        "tag_column",
        "The tags to learn: a CoNLL-U column name (upos when not given), or a token file's column number (the last "
        "when not given).",
    ),
    Option("char_hidden", "Size of the character encoder of each word, per direction (0: none).", kind="int",
           minimum=0),  # fmt: skip
    Option("crf", "Score whole tag sequences with a conditional random field (Viterbi decoding).", kind="switch"),
    # Two shared options whose defaults depend on the data's size (rnnkit.tasks.tag.sizes).
    shared_option("epochs", auto=sized("epochs")),
    shared_option("subwords", auto=sized("subwords")),
)

# Chosen on UD English EWT's development sentences (benchmarks/RESULTS.md, "tagging").
DEFAULTS: dict[str, Any] = {
    "tokenizer": "treebank",  # raw text split as Universal Dependencies splits it
    "lowercase": True,  # the word embedding's key; the character encoder sees the case
    "min_freq": 1,
    "bidirectional": True,
    "layers": 2,
    "hidden": 200,
    "embedding_dim": 100,
    "char_hidden": 64,
    "subwords": None,  # by the data's size (sizes.py)
    "dropout": 0.33,
    "word_dropout": 0.1,  # the <unk> vector learns from known words, for the 8% of words never seen
    "crf": False,
    "epochs": None,  # by the data's size (sizes.py); 15 on UD English EWT (12,544 sentences): 5.8 minutes on 2 cores
    "batch_size": 32,
    "lr": 3e-3,
    "weight_decay": 0.01,
    "adversarial": 0.0,
    "average": 0.999,  # the moving average of the weights is what is scored and kept
}


class Tagging(Task):
    name = "tag"
    title = "a sequence tagger"
    plural = "sequence taggers"
    noun = "tagger"
    verb = "predict"
    cli_module = "rnnkit.tasks.tag.cli"
    evaluation_plots = ("confusion.png", "f1.png")
    page = {"form": "text", "endpoint": "/predict", "button": "Tag", "answer": "tags"}
    options = OPTIONS
    defaults = DEFAULTS
    labels = "tags"
    vocabularies = ("tokens", "characters")

    def implied_by(self, data: Any) -> bool:
        """A CoNLL-U file is the one kind of file that implies its task."""
        from rnnkit.data.tagged import is_tagged_file

        return data is not None and not isinstance(data, list | tuple) and is_tagged_file(Path(data))

    @property
    def config_class(self) -> type:
        from rnnkit.tasks.tag.config import TaggerConfig

        return TaggerConfig

    def train(self, data: Any, options: Any) -> Any:
        from rnnkit.tasks.tag.train import train

        return train(data, options)

    def build(self, config: Any) -> Any:
        from rnnkit.tasks.tag.network import SequenceTagger

        return SequenceTagger(config)

    def pipeline(self, saved: Any, engine: str = "auto") -> Any:
        from rnnkit.tasks.tag.pipeline import TaggerPipeline

        return TaggerPipeline.from_saved(saved, engine)

    def onnx_model(self, saved: Any, source: str) -> Any:
        from rnnkit.tasks.tag.tagger import OnnxTagger, OnnxTaggerSession, crf_of

        session = OnnxTaggerSession.build(saved.config, saved.weights)
        return OnnxTagger(
            saved.tokenizer, saved.vocab, saved.characters, saved.labels, saved.config, session,
            crf_of(saved.weights), source,
        )  # fmt: skip

    def training_summary(self, model: Any) -> list[str]:
        from rnnkit.tasks.tag.report import training_summary

        return training_summary(model)

    def format_report(self, report: dict[str, Any]) -> str:
        from rnnkit.tasks.tag.report import format_tagging_report

        return format_tagging_report(report)

    def evaluation_figures(self, report: dict[str, Any]) -> dict[str, Any]:
        from rnnkit.plots import evaluation_figures

        return evaluation_figures(report)

    def curves(self, training: dict[str, Any]) -> tuple[str, bool]:
        return "accuracy", False

    def export(self, saved: Any, metadata: dict[str, str]) -> Any:
        from rnnkit.tasks.tag.export import graph

        return graph(saved, metadata)

    def export_difference(self, saved: Any, data: bytes) -> float:
        from rnnkit.tasks.tag.export import difference

        return difference(saved, data)

    def read_exported(self, exported: Any) -> Any:
        from rnnkit.tasks.tag.export import read

        return read(exported)

    def inspect(self, model: Any, text: Any, member: int | None, attributions: bool) -> dict[str, Any]:
        from rnnkit.tasks.tag.inspect import inspect

        if member is not None:
            raise RnnkitError("--member applies to an ensemble of classifiers; this model is one network")
        return inspect(model, text if isinstance(text, str) else list(text))

    def unit_readings(self, model: Any, member: int | None) -> Any:
        from rnnkit.tasks.tag.inspect import unit_readings

        return unit_readings(model, member)

    @property
    def drawing(self) -> Any:
        from rnnkit.tasks.tag import drawing

        return drawing

    def endpoints(self) -> tuple[str, ...]:
        return ("/predict",)

    def mount(self, app: Any, service: Any) -> None:
        from rnnkit.tasks.tag.serve import mount

        mount(app, service)


register(Tagging())
