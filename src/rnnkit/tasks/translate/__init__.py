"""Translation: a sentence in one language in, its translation out (the fourth task).

An encoder (the shared body, bidirectional and stacked) reads the source; a recurrent decoder writes the translation
one sub-word at a time, attending to the encoder's outputs (Bahdanau, Cho & Bengio 2015; Luong, Pham & Manning 2015),
and beam search finds a likely whole translation. The package holds everything that is translation's own:

=====================  =================================================================================  ======
module                 what                                                                               torch
=====================  =================================================================================  ======
``options``            the options of ``rnnkit train --task translate`` and their defaults                  no
``config``             :class:`TranslatorConfig` and every weight's name and shape                         no
``data``               reading sentence pairs (TSV, CSV, JSONL), the validation cut that keeps groups       no
``pieces``             sub-words: SentencePiece models learnt from the training text, kept as bytes         no
``attention``          Luong's and Bahdanau's scores, padding masked                                        yes
``network``            the encoder, the bridge, the decoder with input feeding, one decoding step          yes
``search``             greedy decoding and beam search with GNMT's length penalty, in NumPy                 no
``scoring``            BLEU and chrF with sacreBLEU, every translation of a source a reference              no
``objective``          the loop's objective: length-bucketed pairs, label-smoothed loss, validation BLEU    yes
``translator``         the use side: texts in, translations out; evaluation                                no
``torch_translator``   the network on torch, as the search calls it                                         yes
``graph``              the encoder and one decoder step as ONNX graphs; the translator on onnxruntime       no
``train``              from a file of pairs to a trained translator; a time budget planned as steps        yes
``pipeline``           a trained translator on torch: translates, evaluates, saves, is inspected            yes
``export``             one ONNX file: the encoder's graph, the step's graph and both sub-word models        no
``report``             the figures as ``rnnkit train`` and ``rnnkit evaluate`` print them                   no
``inspect``            what the decoder attended to, and the encoder's states                               yes
``drawing``            the attention drawn on the page, in the figure and in the terminal                   yes
``serve``              ``POST /translate``                                                                  no
``cli``                ``rnnkit translate``; what it adds to ``rnnkit evaluate``                            no
=====================  =================================================================================  ======

Modules marked "no" import no torch, so a saved or exported translator translates where torch is not installed.
"""

from __future__ import annotations

from typing import Any

from rnnkit.errors import RnnkitError
from rnnkit.tasks import Task, register
from rnnkit.tasks.translate.options import DEFAULTS, FILES, OPTIONS


class Translation(Task):
    name = "translate"
    title = "a translator"
    plural = "translators"
    noun = "translator"
    verb = "translate"
    cli_module = "rnnkit.tasks.translate.cli"
    page = {"form": "text", "endpoint": "/translate", "button": "Translate", "answer": "translations"}
    costs = {"/translate": 4}  # a sentence at beam 5 (the Tatoeba translator): 6.8 ms of CPU, 3.6 one-text predictions
    options = OPTIONS
    defaults = DEFAULTS
    vocabularies = ()  # the sub-word models are files of their own
    files = FILES

    def resolve(self, options: Any) -> dict[str, Any]:
        """With ``--max-minutes`` and no ``--epochs``, the minutes say how long: the steps are planned from them."""
        defaults = super().resolve(options)
        if options.max_minutes is not None and options.epochs is None:
            del defaults["epochs"]
        return defaults

    @property
    def config_class(self) -> type:
        from rnnkit.tasks.translate.config import TranslatorConfig

        return TranslatorConfig

    def build(self, config: Any) -> Any:
        from rnnkit.tasks.translate.network import TranslationNetwork

        return TranslationNetwork(config)

    def check_saved(self, saved: Any, where: str) -> None:
        from rnnkit.tasks.translate.pieces import pieces_of

        pieces_of(saved, where)

    def train(self, data: Any, options: Any) -> Any:
        from rnnkit.tasks.translate.train import train

        return train(data, options)

    def training_summary(self, model: Any) -> list[str]:
        from rnnkit.tasks.translate.report import training_summary

        return training_summary(model)

    def curves(self, training: dict[str, Any]) -> tuple[str, bool]:
        return training["options"].get("valid_score") or "bleu", False

    def pipeline(self, saved: Any, engine: str = "auto") -> Any:
        from rnnkit.tasks.translate.pipeline import TranslatorPipeline

        return TranslatorPipeline.from_saved(saved, engine)

    def onnx_model(self, saved: Any, source: str) -> Any:
        from rnnkit.tasks.translate.graph import OnnxTranslator
        from rnnkit.tasks.translate.pieces import pieces_of
        from rnnkit.tasks.translate.translator import decoding_of

        return OnnxTranslator(saved.config, *pieces_of(saved, source), saved.weights, decoding_of(saved.training))

    def format_report(self, report: dict[str, Any]) -> str:
        from rnnkit.tasks.translate.report import format_report

        return format_report(report)

    def export(self, saved: Any, metadata: dict[str, str]) -> Any:
        from rnnkit.tasks.translate.export import graph

        return graph(saved, metadata)

    def export_difference(self, saved: Any, data: bytes) -> float:
        from rnnkit.tasks.translate.export import difference

        return difference(saved, data)

    def read_exported(self, exported: Any) -> Any:
        from rnnkit.tasks.translate.export import read

        return read(exported)

    def inspect(self, model: Any, text: Any, member: int | None, attributions: bool) -> dict[str, Any]:
        from rnnkit.tasks.translate.inspect import inspect

        if member is not None:
            raise RnnkitError("--member applies to an ensemble of classifiers; this model is one network")
        if not isinstance(text, str):
            raise RnnkitError("a translator reads a sentence as text, not as a list of tokens")
        return inspect(model, text)

    @property
    def drawing(self) -> Any:
        from rnnkit.tasks.translate import drawing

        return drawing

    def endpoints(self) -> tuple[str, ...]:
        return ("/translate",)

    def mount(self, app: Any, service: Any) -> None:
        from rnnkit.tasks.translate.serve import mount

        mount(app, service)


register(Translation())
