"""A translator's options of ``rnnkit train`` and their defaults, the one place they live (the search's too: a
trained translator searches as it was trained to, :func:`rnnkit.tasks.translate.translator.decoding_of`)."""

from __future__ import annotations

from typing import Any

from rnnkit.tasks import Option

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
    Option("valid_score", "What picks the best epoch: validation BLEU (of greedy translations) or loss.",
           choices=("bleu", "loss")),  # fmt: skip
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
    "decoder_hidden": 256,  # 36.35 valid BLEU against 33.99 for 512 in the same time (round 3)
    "decoder_layers": 1,
    "attention": "luong",
    "input_feeding": False,  # the same BLEU for the same tokens, at 1.7x the speed
    "tie_embeddings": True,
    "dropout": 0.0,  # 35.84 valid BLEU against 34.69 with 0.1 (benchmarks/logs/translate_tuning.md, round 4)
    "epochs": 10,  # without --max-minutes; with it, as many steps as the minutes allow
    "batch_size": 64,
    "lr": 2e-3,
    "weight_decay": 0.0,
    "label_smoothing": 0.1,
    "average": 0.0,
    "valid_score": "bleu",
    "precision": "auto",
    "beam": 5,
    "length_penalty": 1.0,
    "max_ratio": 1.5,
    "max_extra": 5,
}
