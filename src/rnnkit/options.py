"""The options of ``rnnkit train`` and ``rnnkit.train``, in one place, with no heavy imports.

The command line takes its defaults and choices from here, so the two can never disagree, and ``rnnkit --help``
does not wait for torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from rnnkit.errors import RnnkitError

MAX_SUBWORDS = 2**24  # hash buckets of --subwords: 16 million rows of the n-gram table at most

# Checked against the layers that implement them by tests/apps/test_options.py.
CHOICES = {
    "format": ("csv", "tsv", "jsonl", "agnews"),
    "tokenizer": ("word", "char", "treebank"),
    "model": ("rnn", "bag"),
    "cell": ("lstm", "gru", "rnn"),
    "pooling": ("last", "mean", "max", "attention", "concat"),
    "backend": ("fused", "explicit"),
    "device": ("auto", "cpu", "cuda"),
    "metric": ("accuracy", "macro_f1"),
    "schedule": ("linear", "constant", "slanted"),
    "preset": ("fast", "accurate"),
}


TASKS = ("classify", "lm", "tag")


@dataclass
class TrainOptions:
    """Every option of ``rnnkit train``, for every task. ``None`` means the task's default (``TASK_DEFAULTS``);
    the defaults are the measured defaults (benchmarks/RESULTS.md)."""

    task: str = "classify"  # classify, lm, tag
    preset: str | None = None  # a classifier's set of defaults: fast (the default) or accurate (PRESETS)
    test: str | None = None  # a file to report on after training (labelled texts, or running text)
    valid: str | None = None  # a validation file; else a cut of the training data (--valid-split)
    valid_split: float = 0.1  # share of the training data held out (a stratified cut, or a language model's tail)
    text_column: list[str] | str | None = None  # one or several columns, joined with a space
    label_column: str | None = None
    format: str | None = None  # csv, tsv, jsonl, agnews; guessed from the extension
    delimiter: str | None = None  # the field separator of a CSV file; sniffed from its header when not given
    classes: str | None = None  # a file naming the classes, one per line (line 1 = label 0)
    strict: bool = False  # refuse empty texts and doubtful labels instead of skipping them or warning
    tokenizer: str | None = None
    lowercase: bool | None = None
    max_length: int | None = None  # tokens kept per text
    min_freq: int | None = None
    max_vocab: int = 100_000
    model: str | None = None  # rnn, or bag (the order-blind bag-of-embeddings baseline)
    cell: str = "lstm"
    bidirectional: bool | None = None
    layers: int | None = None
    hidden: int | None = None
    embedding_dim: int | None = None
    vectors: str | None = None  # pretrained word vectors (word2vec / GloVe / fastText text format)
    pretrain: bool = False  # first a language model of the texts, whose body the classifier starts from (ULMFiT)
    unlabeled: str | None = None  # texts for --pretrain and --self-train: one per line, or a CSV/TSV/JSONL text column
    pretrain_epochs: int | None = None  # epochs of the language model of --pretrain
    self_train: bool = False  # a first classifier labels the --unlabeled texts; the model learns from its sure labels
    self_train_confidence: float | None = None  # the least probability of an unlabelled text's label to keep it
    self_train_epochs: int | None = None  # epochs of the model trained on the pseudo-labels (default: --epochs)
    encoder: str | None = None  # a language model's directory whose tokenizer, vocabulary and body the classifier takes
    subwords: int | None = None  # hash buckets of the words' character n-grams added to their embeddings; 0: none
    pooling: str | None = None
    dropout: float | None = None
    word_dropout: float | None = None  # share of training tokens replaced by <unk>
    window: int | None = None  # a language model's steps of backpropagation through time
    weight_drop: float | None = None  # DropConnect on a language model's hidden-to-hidden weights
    tie_weights: bool | None = None  # a language model's decoder is its embedding; None: when embedding = hidden
    tag_column: str | None = None  # a tagger's tags: a CoNLL-U column name (upos), or a token file's column number
    char_hidden: int | None = None  # a tagger's character encoder: hidden size per direction; 0: none
    crf: bool | None = None  # a tagger scores whole tag sequences with a conditional random field
    backend: str = "fused"
    ensemble: int | None = None  # networks trained from different seeds, probabilities averaged; None = auto
    jobs: int | None = None  # ensemble members trained at once, each in its own process with a share of the threads
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    # ULMFiT's fine-tuning (slanted, layer_decay 2.6, unfreeze) is an option, with --pretrain or without it: measured
    # on validation after --pretrain, plain fine-tuning scored 81.5 on SST-2 where ULMFiT's scored 68.8 (RESULTS.md).
    schedule: str = "linear"  # linear: 5% warm-up, then down to 0; constant: lr throughout; slanted: ULMFiT's
    layer_decay: float = 1.0  # each layer group's rate is the one above's divided by this (ULMFiT: 2.6)
    unfreeze: bool = False  # gradual unfreezing: epoch k trains the top k layer groups (ULMFiT)
    weight_decay: float = 0.01
    average: float | None = None  # decay of the moving average of the weights that validation scores and keeps
    label_smoothing: float | None = None
    adversarial: float | None = None  # L2 size per sequence of the adversarial move of the embeddings; 0: off
    clip: float = 1.0
    patience: int = 3
    metric: str | None = None  # picks a classifier's best epoch
    max_minutes: float | None = None  # stop at this time budget, keeping the best model so far
    checkpoint_every: int | None = None  # also checkpoint every N steps within an epoch (always at each epoch's end)
    nproc: int | None = None  # train with this many processes on this machine (torchrun, DistributedDataParallel)
    device: str = "auto"  # where training runs: auto (a CUDA GPU when there is one), cpu or cuda
    seed: int = 0
    out: str | None = None  # the run directory; default runs/<data name>
    overwrite: bool = False  # replace a finished model in --out (with its reports and logs)
    resume: bool = False
    quiet: bool = False  # no progress bar, no summary of the data; warnings still show

    def resolve(self) -> TrainOptions:
        """Fill in the task's defaults; refuse an option that belongs to another task; paths given as ``Path``
        objects become strings, as the command line gives them (the options are saved as JSON). Returns ``self``."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, os.PathLike):
                setattr(self, f.name, os.fspath(value))
            elif isinstance(value, list) and any(isinstance(v, os.PathLike) for v in value):
                setattr(self, f.name, [os.fspath(v) if isinstance(v, os.PathLike) else v for v in value])
        if self.task not in TASK_DEFAULTS:
            raise RnnkitError(f"--task must be one of {', '.join(TASK_DEFAULTS)}, got {self.task!r}")
        defaults = TASK_DEFAULTS[self.task]
        for name, owners in TASK_ONLY.items():
            if self.task not in owners and getattr(self, name) not in (None, []):
                flag = "--" + name.replace("_", "-")
                raise RnnkitError(
                    f"{flag} is an option of {' and '.join(owners)} models, not of --task {self.task}; remove it"
                )
        if self.task != "classify" and (self.pretrain or self.unlabeled or self.encoder or self.self_train):
            raise RnnkitError(
                f"--pretrain, --unlabeled, --encoder and --self-train are options of classify models, not of --task "
                f"{self.task}"
            )
        if self.unlabeled and not (self.pretrain or self.self_train):
            raise RnnkitError(
                "--unlabeled texts are for --pretrain's language model or for --self-train to label: add --pretrain or "
                "--self-train"
            )
        if self.self_train and not self.unlabeled:
            raise RnnkitError("--self-train labels unlabelled texts: give them with --unlabeled FILE")
        if self.pretrain and self.encoder:
            raise RnnkitError("--encoder gives a pretrained body and --pretrain trains one: choose one of them")
        if self.task == "classify":
            self.preset = self.preset or DEFAULT_PRESET
            if self.preset not in PRESETS:
                raise RnnkitError(f"--preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
            preset = dict(PRESETS[self.preset])
            if self.model == "bag":
                preset.pop("subwords", None)  # the bag of embeddings reads no sub-words, unless asked (and refused)
            defaults = {**defaults, **preset}
        for name, value in defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        if self.task == "lm" and self.tie_weights is None:  # tied where the sizes allow (Press & Wolf 2017)
            self.tie_weights = self.embedding_dim == self.hidden
        self.check()
        return self

    def check(self) -> None:
        if not 0.0 <= self.valid_split < 1.0:
            raise RnnkitError(f"--valid-split must be in [0, 1), got {self.valid_split}")
        if self.layer_decay is not None and not self.layer_decay >= 1:
            raise RnnkitError(f"--layer-decay must be at least 1 (1: one rate for every layer), got {self.layer_decay}")
        if (self.pretrain or self.encoder) and self.model == "bag":
            raise RnnkitError("--pretrain and --encoder give a recurrent body: leave out --model bag")
        if self.pretrain and self.bidirectional and (self.layers or 1) > 1:
            raise RnnkitError(
                "--pretrain: a bidirectional body is pretrained one layer deep (deeper, each direction would see what "
                "the other must predict): use --layers 1, or --no-bidirectional"
            )
        positive = (
            "max_length", "min_freq", "layers", "hidden", "embedding_dim", "jobs", "window", "pretrain_epochs",
            "self_train_epochs",
        )  # fmt: skip
        for name in positive:
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise RnnkitError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name, allowed in CHOICES.items():
            if getattr(self, name) is not None and getattr(self, name) not in allowed:
                raise RnnkitError(f"--{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        for name in ("dropout", "word_dropout", "average", "label_smoothing", "weight_drop"):
            if getattr(self, name) is not None and not 0.0 <= getattr(self, name) < 1.0:
                raise RnnkitError(f"--{name.replace('_', '-')} must be in [0, 1), got {getattr(self, name)}")
        if self.self_train_confidence is not None and not 0.0 <= self.self_train_confidence <= 1.0:
            raise RnnkitError(f"--self-train-confidence must be in [0, 1], got {self.self_train_confidence}")
        if self.ensemble is not None and not 1 <= self.ensemble <= 16:
            raise RnnkitError(f"--ensemble must be in 1..16, got {self.ensemble}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise RnnkitError(f"--max-minutes must be positive, got {self.max_minutes}")
        if self.nproc is not None and (isinstance(self.nproc, bool) or self.nproc < 1):
            raise RnnkitError(f"--nproc must be at least 1, got {self.nproc}")
        if (self.nproc or 1) > 1 and (self.jobs or 1) > 1:
            raise RnnkitError(
                "--jobs trains members in processes of their own, which --nproc's processes cannot do: leave --jobs "
                "out (an ensemble's members train one after another, each on every process)"
            )
        if self.checkpoint_every is not None and (isinstance(self.checkpoint_every, bool) or self.checkpoint_every < 1):
            raise RnnkitError(f"--checkpoint-every must be at least 1, got {self.checkpoint_every}")
        if self.subwords is not None and (isinstance(self.subwords, bool) or not 0 <= self.subwords <= MAX_SUBWORDS):
            raise RnnkitError(f"--subwords must be in 0..{MAX_SUBWORDS} hash buckets (0: none), got {self.subwords}")
        if self.subwords and self.task == "lm" and self.tokenizer == "char":
            raise RnnkitError("--subwords spell words: a character language model has none; add --tokenizer word")
        if self.subwords and self.model == "bag":
            raise RnnkitError("--subwords is read by the recurrent network: leave it out with --model bag")
        if self.char_hidden is not None and self.char_hidden < 0:
            raise RnnkitError(f"--char-hidden must not be negative (0: no character encoder), got {self.char_hidden}")
        if self.adversarial is not None and self.adversarial < 0:
            raise RnnkitError(f"--adversarial must not be negative, got {self.adversarial}")
        self.delimiter = parse_delimiter(self.delimiter)
        if self.max_vocab < 2:
            raise RnnkitError(f"--max-vocab must be at least 2, got {self.max_vocab}")


# Each task's defaults, the one place they live; an option named in one task's table only, or in TASK_ONLY,
# belongs to that task. The classifier's were chosen on validation (benchmarks/RESULTS.md), the language model's on
# tinyshakespeare's validation text (benchmarks/RESULTS.md, "language models").
TASK_DEFAULTS: dict[str, dict[str, object]] = {
    "classify": {
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
        "label_smoothing": 0.0,
        "adversarial": 5.0,  # L2 size per text of the adversarial move of the embeddings
        "average": 0.0,
        "metric": "macro_f1",  # unlike accuracy, it does not reward neglecting a small class
        "pretrain_epochs": 3,
        # 0.7, 0.8 and 0.9 scored alike on SST-2's dev sentences with 1,000 labels (benchmarks/RESULTS.md)
        "self_train_confidence": 0.8,
    },
    "lm": {
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
        "adversarial": 0.0,
        "average": 0.0,
    },
    "tag": {
        "tokenizer": "treebank",  # raw text split as Universal Dependencies splits it
        "lowercase": True,  # the word embedding's key; the character encoder sees the case
        "min_freq": 1,
        "bidirectional": True,
        "layers": 2,
        "hidden": 200,
        "embedding_dim": 100,
        "char_hidden": 64,
        "subwords": 0,
        "dropout": 0.33,
        "word_dropout": 0.1,  # the <unk> vector learns from known words, for the 8% of words never seen
        "crf": False,
        "epochs": 15,  # 5.8 minutes on UD English EWT (12,544 sentences) on 2 cores
        "batch_size": 32,
        "lr": 3e-3,
        "adversarial": 0.0,
        "average": 0.999,  # the moving average of the weights is what is scored and kept
    },
}
# A classifier's presets: each names the options it sets, over the task's defaults above (which are "accurate").
# fast: 0.22 of the training time of accurate on the seven shared sets under 20,000 texts (measured side by side);
# 0.5 to 0.6 points of test accuracy short of it on four of the eight, within 0.3 or ahead on the other four
# (benchmarks/RESULTS.md).
PRESETS: dict[str, dict[str, object]] = {
    "fast": {"ensemble": 1, "subwords": 10_000},
    "accurate": {},  # five adversarially trained networks averaged below 20,000 texts (AUTO_ENSEMBLE), else one
}
DEFAULT_PRESET = "fast"

# Options that have no default in a task's table but belong to some tasks only.
TASK_ONLY: dict[str, tuple[str, ...]] = (
    {
        name: tuple(task for task, table in TASK_DEFAULTS.items() if name in table)
        for name in {n for table in TASK_DEFAULTS.values() for n in table}
        if not all(name in table for table in TASK_DEFAULTS.values())
    }
    | {
        name: ("classify",)
        for name in (
            "text_column",
            "label_column",
            "format",
            "delimiter",
            "classes",
            "vectors",
            "ensemble",
            "self_train_epochs",
        )  # fmt: skip
    }
    | {"tie_weights": ("lm",), "tag_column": ("tag",), "preset": ("classify",)}
)

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
    """``--ensemble`` (1 under ``--preset fast``), or when it is not given (``--preset accurate``): 5 members below
    20,000 training texts, else 1."""
    if options.ensemble is not None:
        return options.ensemble
    return AUTO_ENSEMBLE if train_texts < AUTO_ENSEMBLE_MAX_TEXTS else 1
