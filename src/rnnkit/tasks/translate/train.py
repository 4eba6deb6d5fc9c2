"""From a file of sentence pairs to a trained, saved translator: the pairs read (and a validation file, or a cut of the
training pairs that no sentence leaks into), the sub-words learnt from the training pairs only, the network, and
the one training loop. With ``--max-minutes`` and no ``--epochs``, the minutes are planned as steps
(:func:`plan_steps`), so that the learning rate warms up and decays to zero by the deadline.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rnnkit.errors import RnnkitError
from rnnkit.io import atomic_write_json
from rnnkit.options import TrainOptions
from rnnkit.rundir import data_name
from rnnkit.tasks.translate.config import TranslatorConfig
from rnnkit.tasks.translate.data import Pairs, read_pairs, split_pairs
from rnnkit.tasks.translate.network import TranslationNetwork
from rnnkit.tasks.translate.objective import StepBudget, TranslateTask, Validation, encode_pairs
from rnnkit.tasks.translate.pieces import Pieces
from rnnkit.tasks.translate.pipeline import TranslatorPipeline
from rnnkit.training.distributed import Replicas, agree, replicas_from_environment
from rnnkit.training.run import finish, loop_config, make_run_dir, say, train_network
from rnnkit.training.trainer import TrainConfig, seed_everything, train_step

MAX_VALID = 2000  # pairs cut for validation at most: BLEU on more costs time every epoch and says little more
WARMUP = 0.02  # of the steps: the rate rises from 0 over the first 2%
PLAN_STEPS = 12  # training steps timed (after 3 to warm up) to plan a time budget's steps
PLAN = "planned_steps.json"  # in the run directory: a resumed run keeps the plan it started with


def reading(opts: TrainOptions) -> dict[str, Any]:
    """How the files of pairs are read: :func:`rnnkit.tasks.translate.data.read_pairs`'s options."""
    return {
        "format": opts.format,
        "source_column": opts.source_column,
        "target_column": opts.target_column,
        "delimiter": opts.delimiter,
    }


def read_data(data: Any, opts: TrainOptions) -> tuple[Pairs, Pairs | None, Pairs | None]:
    """The training pairs, the validation pairs (``--valid``, a cut of the training pairs, or none) and the test
    pairs (read now: a bad test file is refused before the training, not after)."""
    if data is None or isinstance(data, list | tuple):
        raise RnnkitError("a translator learns from one file of pairs: rnnkit train pairs.tsv --task translate")
    how = reading(opts)
    pairs = read_pairs(data, **how)
    say(pairs.summary(), quiet=opts.quiet)
    test = read_pairs(opts.test, **how) if opts.test else None
    if opts.valid:
        valid = read_pairs(opts.valid, **how)
        say(valid.summary(), quiet=opts.quiet)
    elif opts.valid_split > 0:
        share = min(opts.valid_split, MAX_VALID / len(pairs))
        pairs, valid = split_pairs(pairs, share, opts.seed)
        say(f"validation: {len(valid):,} pairs cut from {pairs.path}, none sharing a sentence", quiet=opts.quiet)
    else:
        valid = None
    return pairs, valid, test


def learn_pieces(pairs: Pairs, opts: TrainOptions) -> tuple[Pieces, Pieces]:
    """The source's and the target's sub-word models (one and the same when shared), learnt from the training
    pairs only."""
    if opts.shared_pieces:
        shared = Pieces.train(pairs.sources + pairs.targets, opts.pieces, opts.piece_model, opts.seed)
        return shared, shared
    return (
        Pieces.train(pairs.sources, opts.pieces, opts.piece_model, opts.seed),
        Pieces.train(pairs.targets, opts.pieces, opts.piece_model, opts.seed),
    )


def network_settings(opts: TrainOptions, source: Pieces, target: Pieces) -> TranslatorConfig:
    try:
        return TranslatorConfig(
            source_vocab_size=len(source),
            target_vocab_size=len(target),
            cell=opts.cell,
            embedding_dim=opts.embedding_dim,
            encoder_hidden_size=opts.hidden,
            encoder_layers=opts.layers,
            bidirectional=opts.bidirectional,
            decoder_hidden_size=opts.decoder_hidden,
            decoder_layers=opts.decoder_layers,
            attention=opts.attention,
            input_feeding=opts.input_feeding,
            tie_embeddings=opts.tie_embeddings,
            dropout=opts.dropout,
            backend=opts.backend,
        )
    except ValueError as e:
        raise RnnkitError(str(e)) from None


def training_precision(precision: str, device: str) -> str:
    """``auto``: bfloat16 where the device computes it natively (a CPU with AVX-512 BF16 or AMX, a GPU that supports
    it), else float32: emulated bfloat16 would be slower than float32."""
    import torch

    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "float32"
    return "bfloat16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "float32"


def plan_steps(network: Any, objective: Any, config: TrainConfig, minutes: float, safety: float = 0.95) -> int:
    """How many training steps fit in ``minutes``: :data:`PLAN_STEPS` steps timed on a copy of ``network`` (thrown
    away, as are its optimizer and the random numbers it drew: the loop seeds itself again).

    Why: a time budget that stops training wherever the clock says leaves the learning rate high; planned as steps,
    the schedule warms up and decays to zero by the deadline (the deadline still stops a run that slowed down).
    """
    import torch

    probe = copy.deepcopy(network).to(config.device).train()
    optimizer = torch.optim.AdamW(probe.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    parameters = [p for p in probe.parameters() if p.requires_grad]
    seconds = []
    for i, batch in zip(range(PLAN_STEPS + 3), objective.batches(1), strict=False):
        started = time.perf_counter()
        train_step(probe, objective, batch, optimizer, parameters, config)
        if i >= 3:
            seconds.append(time.perf_counter() - started)
    per_step = sum(seconds) / max(1, len(seconds))
    return max(1, int(safety * 60 * minutes / per_step))


def budget(
    network: Any, objective: TranslateTask, config: TrainConfig, opts: TrainOptions, run_dir: Path,
    replicas: Replicas | None,
) -> tuple[Any, TrainConfig]:  # fmt: skip
    """The objective and the loop's settings for ``--max-minutes`` without ``--epochs``: the steps that fit, planned
    once (a resumed run keeps its plan, recorded in the run directory), as one epoch of that many steps."""
    started = time.perf_counter()

    def plan() -> int:
        recorded = run_dir / PLAN
        if opts.resume and recorded.is_file():
            return int(json.loads(recorded.read_text())["steps"])
        steps = plan_steps(network, objective, config, opts.max_minutes)
        atomic_write_json(recorded, {"steps": steps, "minutes": opts.max_minutes})
        return steps

    steps = agree(replicas, plan)
    left = opts.max_minutes - (time.perf_counter() - started) / 60
    say(f"planned {steps:,} steps ({steps / len(objective):.2f} epochs) for {opts.max_minutes:g} minutes",
        quiet=opts.quiet)  # fmt: skip
    return StepBudget(objective, steps), replace(config, epochs=1, max_minutes=max(left, 1e-3))


def train(data: str | Path | None, opts: TrainOptions) -> TranslatorPipeline:
    """:func:`rnnkit.train` for ``task="translate"``: a translator on a file of sentence pairs."""
    pairs, valid, test = read_data(data, opts)
    seed_everything(opts.seed)
    source_pieces, target_pieces = learn_pieces(pairs, opts)
    encoded = encode_pairs(pairs, source_pieces, target_pieces, opts.max_length)
    validation = None
    if valid is not None:
        validation = Validation.of(valid, encode_pairs(valid, source_pieces, target_pieces), source_pieces,
                                   target_pieces)  # fmt: skip
    config = network_settings(opts, source_pieces, target_pieces)
    seed_everything(opts.seed)
    network = TranslationNetwork(config)
    train_config = loop_config(opts, epochs=opts.epochs or 1, warmup=WARMUP, adversarial=0.0, label_smoothing=0.0)
    replicas = replicas_from_environment()
    rank = {"rank": replicas.rank, "world": replicas.world} if replicas else {}
    precision = training_precision(opts.precision, train_config.device)
    objective: Any = TranslateTask(
        encoded,
        validation,
        opts.batch_size,
        opts.seed,
        opts.label_smoothing,
        opts.valid_score,
        precision=precision,
        **rank,
    )
    run_dir = make_run_dir(opts, data_name(Path(data)), network, train_config, replicas)
    if opts.epochs is None:
        objective, train_config = budget(network, objective, train_config, opts, run_dir, replicas)
    say(
        f"training a translator on {len(encoded):,} pairs ({len(valid) if valid else 0:,} for validation), "
        f"{len(source_pieces):,} -> {len(target_pieces):,} sub-words, {precision} passes -> {run_dir}",
        quiet=opts.quiet,
    )
    identity = [str(data), source_pieces.sha256, target_pieces.sha256, len(encoded)]
    record = train_network(network, objective, train_config, opts, run_dir, identity)
    (run_dir / PLAN).unlink(missing_ok=True)
    training = {
        "data": str(data),
        "train_pairs": len(encoded),
        "valid_pairs": len(valid) if valid else 0,
        "precision": precision,
        **record,
    }
    pipeline = TranslatorPipeline(network, source_pieces, target_pieces, config, training)
    return finish(pipeline, run_dir, test, replicas=replicas)
