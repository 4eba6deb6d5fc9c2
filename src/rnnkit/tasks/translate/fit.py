"""Training a translator from files, end to end: the settings, their defaults, and the steps.

:func:`train_translator` reads the pairs (and a validation file, or cuts one that nothing leaks into), learns the
sub-words, builds the network and trains it with the one training loop (:func:`rnnkit.training.train_loop`), which
brings checkpoints, ``--resume``, the time budget, early stopping and the progress bar. The defaults in
:class:`TranslateSettings` were chosen on the validation split of the English-French Tatoeba pairs
(``benchmarks/logs/translate_tuning.md``); they are the one place a translation default lives until the option table
takes them.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from rnnkit.tasks.translate.config import TranslatorConfig
from rnnkit.tasks.translate.data import Pairs, read_pairs, split_pairs
from rnnkit.tasks.translate.pieces import Pieces
from rnnkit.tasks.translate.translator import Decoding

DEFAULT_EPOCHS = 10  # without a time budget
PLAN_STEPS = 12  # training steps timed (after 3 to warm up) to plan a time budget's steps
MAX_VALID = 2000  # pairs cut for validation at most: BLEU on more costs time every epoch and says little more


@dataclass
class TranslateSettings:
    """Everything :func:`train_translator` can be told; the defaults are the measured ones."""

    # data
    valid_split: float = 0.1  # share of the training pairs cut for validation (at most MAX_VALID) without --valid
    max_length: int = 250  # sub-words per source at most; a longer one is refused, naming its line
    subwords: int = 4000  # sub-word vocabulary per side (or shared)
    shared_subwords: bool = False  # one sub-word model learnt from both sides
    subword_model: str = "unigram"  # or "bpe"
    # network (TranslatorConfig)
    cell: str = "lstm"
    embedding_dim: int = 256
    encoder_hidden_size: int = 256
    encoder_layers: int = 1
    bidirectional: bool = True
    decoder_hidden_size: int = 512
    decoder_layers: int = 1
    attention: str = "luong"
    input_feeding: bool = False
    tie_embeddings: bool = True
    dropout: float = 0.1
    # training (rnnkit.training.TrainConfig)
    epochs: int | None = None  # None: as many steps as max_minutes allow (plan_steps), or DEFAULT_EPOCHS without it
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    warmup: float = 0.02
    schedule: str = "linear"
    clip: float = 1.0
    label_smoothing: float = 0.1
    patience: int = 3
    score: str = "bleu"  # what picks the best epoch: validation "bleu" (greedy) or "loss"
    max_minutes: float | None = None
    checkpoint_every: int | None = None
    seed: int = 0
    device: str = "cpu"
    precision: str = "auto"  # of the training passes: float32, bfloat16, or auto (bfloat16 where the CPU has it)
    # translating
    beam: int = 5
    max_ratio: float = 1.5  # a translation has at most max_ratio * source pieces + max_extra pieces
    max_extra: int = 5
    alpha: float = 1.0

    def network(self, source_vocab: int, target_vocab: int) -> TranslatorConfig:
        names = {f.name for f in fields(TranslatorConfig)} - {"source_vocab_size", "target_vocab_size", "backend"}
        return TranslatorConfig(source_vocab, target_vocab, **{name: getattr(self, name) for name in names})

    def decoding(self) -> Decoding:
        return Decoding(beam=self.beam, alpha=self.alpha, max_ratio=self.max_ratio, max_extra=self.max_extra)


def training_precision(precision: str, device: str) -> str:
    """``auto``: bfloat16 where the device computes it natively (a CPU with AVX-512 BF16 or AMX, a GPU that supports
    it), else float32; emulated bfloat16 would be slower than float32."""
    if precision != "auto":
        return precision
    import torch

    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "float32"
    return "bfloat16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "float32"


def learn_pieces(train: Pairs, settings: TranslateSettings) -> tuple[Pieces, Pieces]:
    """The source's and the target's sub-word models (one and the same when shared), learnt from the training
    pairs only."""
    s = settings
    if s.shared_subwords:
        shared = Pieces.train(train.sources + train.targets, s.subwords, s.subword_model, s.seed)
        return shared, shared
    return (
        Pieces.train(train.sources, s.subwords, s.subword_model, s.seed),
        Pieces.train(train.targets, s.subwords, s.subword_model, s.seed),
    )


def fingerprint(paths: list[str | Path | None], settings: TranslateSettings) -> str:
    """What a resumed run must share with the run it resumes: the data's bytes and every setting but the time."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(b"-" if path is None else Path(path).read_bytes())
    kept = {k: v for k, v in asdict(settings).items() if k not in ("max_minutes", "checkpoint_every", "device")}
    digest.update(json.dumps(kept, sort_keys=True).encode())
    return digest.hexdigest()


def plan_steps(network: Any, task: Any, config: Any, minutes: float, safety: float = 0.95) -> int:
    """How many training steps fit in ``minutes``: :data:`PLAN_STEPS` steps of ``task`` timed on a copy of
    ``network`` (thrown away, as are its optimizer and the random numbers it drew: the loop seeds itself again).

    Why: a time budget that stops training wherever the clock says leaves the learning rate high; planned as steps,
    the schedule warms up and decays to zero by the deadline (the deadline still stops a run that slowed down).
    """
    import copy

    import torch

    from rnnkit.training.trainer import train_step

    probe = copy.deepcopy(network).to(config.device).train()
    optimizer = torch.optim.AdamW(probe.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    parameters = [p for p in probe.parameters() if p.requires_grad]
    batches = task.batches(1)
    seconds = []
    for i, batch in zip(range(PLAN_STEPS + 3), batches, strict=False):
        started = time.perf_counter()
        train_step(probe, task, batch, optimizer, parameters, config)
        if i >= 3:
            seconds.append(time.perf_counter() - started)
    per_step = sum(seconds) / max(1, len(seconds))
    return max(1, int(safety * 60 * minutes / per_step))


def train_translator(
    train: str | Path,
    valid: str | Path | None = None,
    settings: TranslateSettings | None = None,
    run_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
    **reading: Any,
) -> tuple[Any, Any]:
    """Train a translator on the pairs in ``train`` (``reading``: :func:`read_pairs`'s options), validated on
    ``valid`` or on a cut of ``train``; returns ``(TorchTranslator, FitResult)``."""
    from rnnkit.tasks.translate.network import TranslationNetwork
    from rnnkit.tasks.translate.objective import StepBudget, TranslateTask, Validation, encode_pairs
    from rnnkit.tasks.translate.torch_translator import TorchTranslator
    from rnnkit.training.trainer import TrainConfig, seed_everything, train_loop

    s = settings or TranslateSettings()
    pairs = read_pairs(train, **reading)
    say = print if progress else (lambda *a, **k: None)
    say(pairs.summary(), file=sys.stderr)
    if valid is not None:
        valid_pairs = read_pairs(valid, **reading)
        say(valid_pairs.summary(), file=sys.stderr)
    else:
        share = min(s.valid_split, MAX_VALID / len(pairs))
        pairs, valid_pairs = split_pairs(pairs, share, s.seed)
        say(f"validation: {len(valid_pairs):,} pairs cut from {pairs.path}, none sharing a sentence", file=sys.stderr)
    source_pieces, target_pieces = learn_pieces(pairs, s)
    encoded = encode_pairs(pairs, source_pieces, target_pieces, s.max_length)
    encoded_valid = encode_pairs(valid_pairs, source_pieces, target_pieces)
    validation = Validation.of(valid_pairs, encoded_valid, source_pieces, target_pieces)
    config = s.network(len(source_pieces), len(target_pieces))
    seed_everything(s.seed)
    network = TranslationNetwork(config)
    precision = training_precision(s.precision, s.device)
    task = TranslateTask(encoded, validation, s.batch_size, s.seed, s.label_smoothing, s.score, precision=precision)
    loop = TrainConfig(
        epochs=s.epochs or DEFAULT_EPOCHS,
        batch_size=s.batch_size,
        lr=s.lr,
        weight_decay=s.weight_decay,
        clip=s.clip,
        warmup=s.warmup,
        schedule=s.schedule,
        patience=s.patience,
        seed=s.seed,
        max_minutes=s.max_minutes,
        checkpoint_every=s.checkpoint_every,
        device=s.device,
    )
    if s.epochs is None and s.max_minutes is not None:
        started = time.perf_counter()
        steps = plan_steps(network, task, loop, s.max_minutes)
        left = s.max_minutes - (time.perf_counter() - started) / 60
        say(f"planned {steps:,} steps ({steps / len(task):.2f} epochs) for {s.max_minutes:g} minutes", file=sys.stderr)
        task, loop = StepBudget(task, steps), replace(loop, epochs=1, max_minutes=max(left, 1e-3))
    if run_dir is not None:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
    result = train_loop(network, task, loop, run_dir, resume, fingerprint([train, valid], s), progress, on_epoch_end)
    return TorchTranslator(network, source_pieces, target_pieces, s.decoding()), result
