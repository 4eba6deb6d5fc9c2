"""The options of ``rnnkit train`` and ``rnnkit.train``, in one place, with no heavy imports.

The command line takes its defaults and choices from here, so the two can never disagree, and ``rnnkit --help``
does not wait for torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnkit.errors import RnnkitError

# Checked against the layers that implement them by tests/apps/test_options.py.
CHOICES = {
    "format": ("csv", "tsv", "jsonl", "agnews"),
    "tokenizer": ("word", "char"),
    "model": ("rnn", "bag"),
    "cell": ("lstm", "gru", "rnn"),
    "pooling": ("last", "mean", "max", "attention", "concat"),
    "backend": ("fused", "explicit"),
    "metric": ("accuracy", "macro_f1"),
    "schedule": ("linear", "constant"),
}


@dataclass
class TrainOptions:
    """Every option of ``rnnkit train``; the defaults are the measured defaults (benchmarks/RESULTS.md)."""

    test: str | None = None  # a labelled file to report on after training
    valid_split: float = 0.1  # share of the training file held out for early stopping
    text_column: list[str] | str | None = None  # one or several columns, joined with a space
    label_column: str | None = None
    format: str | None = None  # csv, tsv, jsonl, agnews; guessed from the extension
    delimiter: str | None = None  # the field separator of a CSV file; sniffed from its header when not given
    classes: str | None = None  # a file naming the classes, one per line (line 1 = label 0)
    strict: bool = False  # refuse empty texts and doubtful labels instead of skipping them or warning
    tokenizer: str = "word"
    lowercase: bool = True
    max_length: int = 400  # tokens kept per text
    min_freq: int = 2  # chosen on validation: words seen once become <unk>, so training sees <unk> too
    max_vocab: int = 100_000
    model: str = "rnn"  # rnn, or bag (the order-blind bag-of-embeddings baseline)
    cell: str = "lstm"
    bidirectional: bool = True
    layers: int = 1
    hidden: int = 128
    embedding_dim: int = 128
    vectors: str | None = None  # pretrained word vectors (word2vec / GloVe / fastText text format)
    pooling: str = "max"
    dropout: float = 0.3
    word_dropout: float = 0.0  # share of training tokens replaced by <unk>
    backend: str = "fused"
    ensemble: int | None = None  # networks trained from different seeds, probabilities averaged; None = auto
    jobs: int = 1  # ensemble members trained at once, each in its own process with an equal share of the threads
    epochs: int = 10
    batch_size: int = 32
    lr: float = 5e-3
    schedule: str = "linear"  # linear: 5% warm-up, then down to 0 at the last epoch; constant: lr throughout
    weight_decay: float = 0.01
    average: float = 0.0  # decay of the moving average of the weights that validation scores and training keeps
    label_smoothing: float = 0.0
    adversarial: float = 5.0  # chosen on validation: L2 size per text of the adversarial move of the embeddings
    clip: float = 1.0
    patience: int = 3
    metric: str = "macro_f1"  # picks the best epoch; unlike accuracy, it does not reward neglecting a small class
    seed: int = 0
    out: str | None = None  # the run directory; default runs/<data name>
    overwrite: bool = False  # replace a finished model in --out (with its reports and logs)
    resume: bool = False
    quiet: bool = False  # no progress bar, no summary of the data; warnings still show

    def check(self) -> None:
        if not 0.0 <= self.valid_split < 1.0:
            raise RnnkitError(f"--valid-split must be in [0, 1), got {self.valid_split}")
        for name in ("max_length", "min_freq", "layers", "hidden", "embedding_dim", "jobs"):
            if getattr(self, name) < 1:
                raise RnnkitError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name, allowed in CHOICES.items():
            if getattr(self, name) is not None and getattr(self, name) not in allowed:
                raise RnnkitError(f"--{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        for name in ("dropout", "word_dropout", "average", "label_smoothing"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise RnnkitError(f"--{name.replace('_', '-')} must be in [0, 1), got {getattr(self, name)}")
        if self.ensemble is not None and not 1 <= self.ensemble <= 16:
            raise RnnkitError(f"--ensemble must be in 1..16, got {self.ensemble}")
        if self.adversarial < 0:
            raise RnnkitError(f"--adversarial must not be negative, got {self.adversarial}")
        self.delimiter = parse_delimiter(self.delimiter)
        if self.max_vocab < 2:
            raise RnnkitError(f"--max-vocab must be at least 2, got {self.max_vocab}")


# What a shell makes hard to type, by name.
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}


def parse_delimiter(value: str | None) -> str | None:
    """``--delimiter``: one character, or a name for one (``tab`` or ``\\t``, ``semicolon``, ``pipe`` ...)."""
    if value is None:
        return None
    delimiter = DELIMITER_NAMES.get(value.lower(), value)
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise RnnkitError(
            f"--delimiter must be one character (or {', '.join(DELIMITER_NAMES)}), not a quote or line break; "
            f"got {value!r}"
        )
    return delimiter


# Measured in benchmarks/RESULTS.md: five members add 1-2 points on data sets of a few thousand texts; on tens of
# thousands a single network varies less from seed to seed and takes minutes, so it trains alone.
AUTO_ENSEMBLE = 5
AUTO_ENSEMBLE_MAX_TEXTS = 20_000


def ensemble_members(options: TrainOptions, train_texts: int) -> int:
    """``--ensemble``, or when it is not given: 5 members below 20,000 training texts, else 1."""
    if options.ensemble is not None:
        return options.ensemble
    return AUTO_ENSEMBLE if train_texts < AUTO_ENSEMBLE_MAX_TEXTS else 1
