"""``--pretrain``: before it learns its labels, the classifier's body learns the language of its texts (and of any
unlabelled ones), as a :class:`~rnnkit.tasks.classify.pretrain_network.TextLanguageModel` trained by the one
training loop; the classifier then starts from that body and is fine-tuned (ULMFiT's way,
:mod:`rnnkit.training.finetuning`, when asked).

The language model trains in the run directory's ``pretrain/``, with its own checkpoints, so an interrupted run
resumes there; once it has finished, its body is kept there (``body.safetensors``, with ``record.json``) and a
resumed run starts the classifier from it without pretraining again. A finished run leaves nothing of it but its
record in the model's ``config.json``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from rnnkit.data import EncodedTexts
from rnnkit.io import atomic_write_bytes, atomic_write_text
from rnnkit.rundir import CHECKPOINT, PRETRAIN_DIR
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.classify.pretrain_network import TextLanguageModel
from rnnkit.tasks.classify.pretrain_objective import PretrainTask
from rnnkit.training.distributed import Replicas
from rnnkit.training.trainer import TrainConfig, seed_everything, train_loop

BODY_FILE = "body.safetensors"
RECORD_FILE = "record.json"


def pretraining_loop(loop: TrainConfig, epochs: int) -> TrainConfig:
    """The language model's training settings: the classifier's, for ``epochs``, plain (no adversarial moves, no
    averaging, one rate for every layer, warm-up and linear decay); the best epoch is the lowest validation loss."""
    return replace(
        loop, epochs=epochs, adversarial=0.0, average=0.0, label_smoothing=0.0, schedule="linear", layer_decay=1.0,
        unfreeze=False,
    )  # fmt: skip


def pretrain_body(
    config: ClassifierConfig,
    texts: EncodedTexts,
    valid: EncodedTexts | None,
    loop: TrainConfig,
    run_dir: Path,
    resume: bool,
    fingerprint: str,
    progress: bool = True,
    replicas: Replicas | None = None,
    embedding: torch.Tensor | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Train a language model of ``texts`` (validated on ``valid``) with the body of ``config`` and return its body's
    weights and the record of its training. ``embedding``, if given, is where its word vectors start (``--vectors``).
    """
    where = run_dir / PRETRAIN_DIR
    if resume and (where / BODY_FILE).exists():
        record = json.loads((where / RECORD_FILE).read_text(encoding="utf-8"))
        if record.get("fingerprint") == fingerprint:
            return load_file(str(where / BODY_FILE)), record["record"]
    where.mkdir(exist_ok=True)
    seed_everything(loop.seed)
    model = TextLanguageModel(replace(config, members=1))
    if embedding is not None:
        with torch.no_grad():
            model.embedding.weight.copy_(embedding)
    place = {"rank": replicas.rank, "world": replicas.world} if replicas is not None else {}
    task = PretrainTask(texts, valid, loop.batch_size, loop.seed, **place)
    result = train_loop(
        model,
        task,
        loop,
        where,
        resume=resume and (where / CHECKPOINT).exists(),
        fingerprint=fingerprint,
        progress=progress,
        name="pretraining: ",
        replicas=replicas,
    )
    best = result.history[result.best_epoch - 1] if result.history else {}
    record = {
        "texts": len(texts),
        "best_epoch": result.best_epoch,
        "valid": {k.removeprefix("valid_"): v for k, v in best.items() if k.startswith("valid_")} or None,
        "history": result.history,
    }
    body = model.body()
    if replicas is None or replicas.main:
        atomic_write_bytes(where / BODY_FILE, save({name: t.contiguous() for name, t in body.items()}))
        atomic_write_text(where / RECORD_FILE, json.dumps({"fingerprint": fingerprint, "record": record}))
    return body, record
