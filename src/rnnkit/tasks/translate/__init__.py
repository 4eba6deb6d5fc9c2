"""Translation: a sentence in one language in, its translation out (the fourth task).

An encoder (the shared body, bidirectional and stacked) reads the source; a recurrent decoder writes the translation
one sub-word at a time, attending to the encoder's outputs (Bahdanau, Cho & Bengio 2015; Luong, Pham & Manning 2015),
and beam search finds a likely whole translation. The package holds everything that is translation's own:

=====================  =================================================================================  ======
module                 what                                                                               torch
=====================  =================================================================================  ======
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
from rnnkit.tasks import Option, Task, register

FILES = ("source.spm", "target.spm")  # the sub-word models, beside the weights in a translator's directory

OPTIONS = (
    Option("pieces", "Sub-words per language, learnt by SentencePiece from the training pairs.", kind="int",
           minimum=5),  # fmt: skip
    Option("shared_pieces", "One sub-word model learnt from both languages' sentences.", kind="switch"),
    Option("piece_model", "SentencePiece's kind of sub-words.", choices=("unigram", "bpe")),
    Option("source_column", "The source sentences' column of a CSV or JSONL file (a TSV's first).", auto="source"),
    Option("target_column", "The translations' column of a CSV or JSONL file (a TSV's second).", auto="target"),
    Option("decoder_hidden", "Size of the decoder's state.", kind="int", minimum=1),
    Option("decoder_layers", "Stacked recurrent layers of the decoder.", kind="int", minimum=1),
    Option("attention", "luong: multiplicative scores (Luong et al. 2015); bahdanau: additive (Bahdanau et al. "
           "2015).", choices=("luong", "bahdanau")),  # fmt: skip
    Option("input_feeding", "Give each decoder step the previous step's attentional vector (Luong et al. 2015); "
           "slower to train.", kind="switch"),  # fmt: skip
    Option("tie_embeddings", "The output layer is the target embedding (Press & Wolf 2017).", kind="switch"),
    Option(
        "precision",
        "Of the training passes: bfloat16 (weights and updates stay float32), float32, or auto: bfloat16 where the "
        "CPU or GPU computes it natively.",
        choices=("auto", "float32", "bfloat16"),
    ),
    Option("beam", "Beam width of the translations (1: greedy); rnnkit translate --beam changes it.", kind="int",
           minimum=1),  # fmt: skip
    Option("length_penalty", "GNMT's length penalty alpha: more favours longer translations.", kind="float",
           minimum=0),  # fmt: skip
    Option("max_ratio", "A translation has at most this many pieces per source piece, plus --max-extra.",
           kind="float", minimum=0.1),  # fmt: skip
    Option("max_extra", "Pieces a translation may have beyond --max-ratio's.", kind="int", minimum=0),
)

# Chosen on the validation pairs of the English-French Tatoeba split (benchmarks/logs/translate_tuning.md).
DEFAULTS: dict[str, Any] = {
    "format": None,  # guessed from the file's extension: .tsv (no header), .csv, .jsonl
    "delimiter": None,
    "max_length": 250,  # sub-words per source: a longer one is refused, naming its line
    "pieces": 4000,
    "shared_pieces": False,
    "piece_model": "unigram",
    "bidirectional": True,
    "layers": 1,
    "hidden": 256,  # the encoder's, per direction
    "embedding_dim": 256,
    "decoder_hidden": 512,
    "decoder_layers": 1,
    "attention": "luong",
    "input_feeding": False,  # the same BLEU for the same tokens, at 1.7x the speed
    "tie_embeddings": True,
    "dropout": 0.1,
    "epochs": 10,  # without --max-minutes; with it, as many steps as the minutes allow
    "batch_size": 64,
    "lr": 2e-3,
    "weight_decay": 0.0,
    "label_smoothing": 0.1,
    "average": 0.0,
    "precision": "auto",
    "beam": 5,
    "length_penalty": 1.0,
    "max_ratio": 1.5,
    "max_extra": 5,
}


class Translation(Task):
    name = "translate"
    title = "a translator"
    plural = "translators"
    noun = "translator"
    verb = "translate"
    cli_module = "rnnkit.tasks.translate.cli"
    page = {"form": "text", "endpoint": "/translate", "button": "Translate", "answer": "translations"}
    options = OPTIONS
    defaults = DEFAULTS
    vocabularies = ()  # the sub-word models are files of their own
    files = FILES

    def resolve(self, options: Any) -> dict[str, Any]:
        """With ``--max-minutes`` and no ``--epochs``, the minutes say how long: the steps are planned from them."""
        defaults = dict(self.defaults)
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
        return "bleu", False

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
