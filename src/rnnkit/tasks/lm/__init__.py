"""Language modelling: predict the next token of running text; then write more of it. The shared body run forwards,
a decoder at every step tied to the embedding, the state carried from window to window (truncated backpropagation
through time).

The package: ``config``, ``network``, ``objective`` (the corpus as parallel streams read in windows; validation
loss), ``train`` (from text files to a trained model), ``sampling`` (temperature, top-k, top-p), ``generator``
(the torch-free use side: writing and scoring text on onnxruntime), ``pipeline`` (on torch), ``graph`` (ONNX),
``exported``, ``report``, ``inspect`` and ``drawing``, ``serve`` (``POST /generate``), ``cli`` (``rnnkit
generate``).
"""

from __future__ import annotations

from typing import Any

from rnnkit.errors import RnnkitError
from rnnkit.tasks import Option, Task, register

OPTIONS = (
    Option("window", "Steps of backpropagation through time: the text is read in windows this long.", kind="int",
           minimum=1),  # fmt: skip
    Option("weight_drop", "DropConnect on the hidden-to-hidden weights (AWD-LSTM).", kind="float", fraction=True),
    Option(
        "tie_weights",
        "The decoder is the embedding matrix (Press & Wolf 2017), through a projection if the sizes differ.",
        kind="switch",
        auto="tied when --embedding-dim equals --hidden",
    ),
)

# Chosen on tinyshakespeare's validation text (benchmarks/RESULTS.md, "language models").
DEFAULTS: dict[str, Any] = {
    "tokenizer": "char",  # every character as it is: case, spaces, line breaks
    "lowercase": False,
    "min_freq": 1,
    "layers": 2,
    "hidden": 512,
    "embedding_dim": 128,
    "dropout": 0.1,  # 0.1 and lr 3e-3: 1.426 on tinyshakespeare's validation text, against 1.491 with 0.2, 2e-3
    "window": 128,
    "subwords": 0,
    "weight_drop": 0.0,
    "epochs": 7,  # about nine minutes on tinyshakespeare (1 MB) on 2 cores: the schedule ends with the budget
    "batch_size": 64,
    "lr": 3e-3,
    "weight_decay": 0.01,
    "adversarial": 0.0,
    "average": 0.0,
}


class LanguageModelling(Task):
    name = "lm"
    title = "a language model"
    plural = "language models"
    noun = "language model"
    verb = "generate"
    cli_module = "rnnkit.tasks.lm.cli"
    page = {"form": "prompt", "endpoint": "/generate", "button": "Write", "answer": "text"}
    costs = {"/generate": 100}  # the default 200 characters of two layers of 512: about 120 one-text predictions
    options = OPTIONS
    defaults = DEFAULTS
    several_files = True

    def complete(self, options: Any) -> None:
        if options.tie_weights is None:  # tied where the sizes allow (Press & Wolf 2017)
            options.tie_weights = options.embedding_dim == options.hidden

    def check(self, options: Any) -> None:
        if options.subwords and options.tokenizer == "char":
            raise RnnkitError("--subwords spell words: a character language model has none; add --tokenizer word")

    @property
    def config_class(self) -> type:
        from rnnkit.tasks.lm.config import LanguageModelConfig

        return LanguageModelConfig

    def train(self, data: Any, options: Any) -> Any:
        from rnnkit.tasks.lm.train import train

        return train(data, options)

    def build(self, config: Any) -> Any:
        from rnnkit.tasks.lm.network import LanguageModel

        return LanguageModel(config)

    def pipeline(self, saved: Any, engine: str = "auto") -> Any:
        from rnnkit.tasks.lm.pipeline import LanguageModelPipeline

        return LanguageModelPipeline.from_saved(saved, engine)

    def onnx_model(self, saved: Any, source: str) -> Any:
        from rnnkit.tasks.lm.generator import OnnxGenerator, OnnxLanguageModelSession
        from rnnkit.text.subwords import vocabulary_ngrams

        ngrams = vocabulary_ngrams(saved.config, saved.vocab.tokens)
        session = OnnxLanguageModelSession.build(saved.config, saved.weights, ngrams)
        return OnnxGenerator(saved.tokenizer, saved.vocab, saved.config, session)

    def training_summary(self, model: Any) -> list[str]:
        from rnnkit.tasks.lm.report import training_summary

        return training_summary(model)

    def format_report(self, report: dict[str, Any]) -> str:
        from rnnkit.tasks.lm.report import format_lm_report

        return format_lm_report(report)

    def curves(self, training: dict[str, Any]) -> tuple[str, bool]:
        """The loss is drawn already: its perplexity instead, and the loss against time too."""
        return "perplexity", True

    def unit_texts(self, path: str) -> Any:
        """Running text, read whole (the units of a language model follow its lines and quotes)."""
        from rnnkit.data.corpus import read_corpus

        return iter([read_corpus(path)])

    def export(self, saved: Any, metadata: dict[str, str]) -> Any:
        from rnnkit.tasks.lm.export import graph

        return graph(saved, metadata)

    def export_difference(self, saved: Any, data: bytes) -> float:
        from rnnkit.tasks.lm.export import difference

        return difference(saved, data)

    def read_exported(self, exported: Any) -> Any:
        from rnnkit.tasks.lm.export import read

        return read(exported)

    def inspect(self, model: Any, text: Any, member: int | None, attributions: bool) -> dict[str, Any]:
        from rnnkit.tasks.lm.inspect import inspect

        if member is not None:
            raise RnnkitError("--member applies to an ensemble of classifiers; this model is one network")
        return inspect(model, text if isinstance(text, str) else " ".join(text))

    def unit_readings(self, model: Any, member: int | None) -> Any:
        from rnnkit.tasks.lm.inspect import unit_readings

        return unit_readings(model, member)

    @property
    def drawing(self) -> Any:
        from rnnkit.tasks.lm import drawing

        return drawing

    def endpoints(self) -> tuple[str, ...]:
        return ("/generate",)

    def mount(self, app: Any, service: Any) -> None:
        from rnnkit.tasks.lm.serve import mount

        mount(app, service)


register(LanguageModelling())
