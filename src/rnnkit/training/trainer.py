"""The one training loop, for every task: AdamW, warm-up then linear decay, adversarial training, clipping, early
stopping with the best weights restored, a time budget, a progress bar, a JSONL log, a checkpoint each epoch and
resume.

Read it top to bottom: :func:`train_loop` is the whole loop and :func:`train_step` one step of it; the task's
objective (:mod:`rnnkit.training.objective`) supplies the batches, the loss of a batch and the validation score,
and the loop never asks which task it runs. A run interrupted at any point resumes from its last finished epoch
and ends with the same weights as a run never interrupted (same seed, same data, CPU).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from rnnkit.errors import RnnkitError
from rnnkit.io import atomic_write_bytes, atomic_write_text
from rnnkit.training.distributed import Replicas, Replicated
from rnnkit.training.finetuning import discriminative_groups, slanted_triangular, thaw
from rnnkit.training.objective import Batch, Objective, StepResult
from rnnkit.training.turns import Turns, usable_cores

__all__ = ["SCHEDULES", "FitResult", "TrainConfig", "seed_everything", "train_loop", "train_step"]
SCHEDULES = ("linear", "constant", "slanted")
CHECKPOINT = "checkpoint.pt"
LOG = "train_log.jsonl"


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.01
    clip: float = 1.0
    warmup: float = 0.05  # fraction of all steps spent raising the learning rate from 0
    schedule: str = "linear"  # linear: warm-up, then down to 0 at the last epoch; constant: lr throughout; slanted:
    # ULMFiT's slanted triangular rate (rnnkit.training.finetuning)
    layer_decay: float = 1.0  # each layer group's rate is the one above divided by this (discriminative rates)
    unfreeze: bool = False  # gradual unfreezing: epoch k trains the top k layer groups
    patience: int = 3  # epochs without a better validation score before stopping
    metric: str | None = None  # the validation score that picks the best epoch, among the task's (None: its own)
    seed: int = 0
    average: float = 0.0  # decay of the exponential moving average of the weights; 0 = no averaging
    label_smoothing: float = 0.0
    adversarial: float = 0.0  # size (L2 norm per text) of the adversarial move of the word embeddings; 0 = off
    max_minutes: float | None = None  # stop once this much time has passed, keeping the best model so far
    checkpoint_every: int | None = None  # also checkpoint every this many steps, within epochs (and at every epoch end)
    device: str = "cpu"  # where the network and its batches live while training ("cpu", "cuda", "cuda:1" ...)
    share_cores: bool = True  # take turns on the cores with other trainings on this machine (rnnkit.training.turns)

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, f"epochs must be at least 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be at least 1, got {self.batch_size}"),
            (self.lr > 0, f"lr must be positive, got {self.lr}"),
            (self.weight_decay >= 0, f"weight_decay must not be negative, got {self.weight_decay}"),
            (self.clip > 0, f"clip must be positive, got {self.clip}"),
            (0 <= self.warmup < 1, f"warmup must be in [0, 1), got {self.warmup}"),
            (self.patience >= 1, f"patience must be at least 1, got {self.patience}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}, got {self.schedule!r}"),
            (self.layer_decay >= 1, f"layer_decay must be at least 1, got {self.layer_decay}"),
            (0 <= self.average < 1, f"average must be in [0, 1), got {self.average}"),
            (0 <= self.label_smoothing < 1, f"label_smoothing must be in [0, 1), got {self.label_smoothing}"),
            (self.adversarial >= 0, f"adversarial must not be negative, got {self.adversarial}"),
            (self.max_minutes is None or self.max_minutes > 0, f"max_minutes must be positive, got {self.max_minutes}"),
            (
                self.checkpoint_every is None or self.checkpoint_every >= 1,
                f"checkpoint_every must be at least 1, got {self.checkpoint_every}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise RnnkitError(message)


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped by SIGINT or SIGTERM; ``signum`` says which (the command line exits with 128 + ``signum``:
    130 or 143), ``checkpointed`` whether the loop wrote a checkpoint where it stopped (it stops at a step's end)."""

    def __init__(self, signum: int, message: str, checkpointed: bool = False) -> None:
        super().__init__(message)
        self.signum = signum
        self.checkpointed = checkpointed


class StopSignals:
    """While training with a run directory, SIGINT and SIGTERM ask the loop to stop at the end of the current step
    (where a checkpoint can be written) instead of killing it wherever it is. Only the main thread can listen."""

    def __init__(self, active: bool) -> None:
        self.active = active and threading.current_thread() is threading.main_thread()
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if self.active:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._receive)
        return self

    def _receive(self, signum: int, frame: Any) -> None:
        if self.received is not None:  # asked twice: stop at once
            raise KeyboardInterrupt
        self.received = signum

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@dataclass
class FitResult:
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = float("-inf")  # the best validation score, negated when lower is better
    stopped_early: bool = False
    out_of_time: bool = False  # stopped by max_minutes


def seed_everything(seed: int) -> None:
    """One seed for Python, NumPy and torch: the same seed and data give the same model on a CPU."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def clip_gradients(parameters: list[nn.Parameter], max_norm: float) -> None:
    """Scale the gradients down to a total norm of ``max_norm``, and leave them untouched when they are under it.

    ``clip_grad_norm_`` always multiplies every gradient (by 1.0 when under the limit) to spare a GPU a sync; on a
    CPU that multiplication was 4% of a training step. The result is identical.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    norm = nn.utils.get_total_norm(grads)
    if norm > max_norm:
        nn.utils.clip_grads_with_norm_(parameters, max_norm, norm)


def adversarial_backward(model: nn.Module, task: Objective, batch: Batch, size: float) -> StepResult:
    """Adversarial training (Miyato, Dai & Goodfellow 2017): back-propagate the loss on the batch and the loss on
    the batch with its word embeddings moved by ``size`` (L2 norm per sequence) the way that raises the loss fastest.

    Small data sets are learnt by heart within a few epochs; training against the worst small change of each text's
    embeddings makes the network's answer hold still around every training text, which generalises better
    (measured in benchmarks/RESULTS.md). The direction is the gradient of the loss with respect to the embeddings,
    got for free from the first backward pass by adding zeros that require a gradient. The words' vectors themselves
    are computed once for both passes (:meth:`~rnnkit.models.body.RecurrentBody.embedded_once`). Returns the clean
    pass.
    """
    zeros = torch.zeros(model.noise_shape(batch.ids), device=batch.ids.device, requires_grad=True)
    once = model.embedded_once() if hasattr(model, "embedded_once") else contextlib.nullcontext()
    # Under DDP the clean pass, forward and backward, runs without synchronising: its gradients stay in each
    # process and join the second pass's, whose backward averages them all. DDP prepares a synchronisation in the
    # forward, so the forward must be inside no_sync too: the first pass reads a detached copy of the word vectors,
    # and a synchronised pass would wait for gradients the embedding tables never get from it.
    with once:
        with model.no_sync() if hasattr(model, "no_sync") else contextlib.nullcontext():
            clean = task.loss(model, batch, zeros)
            clean.loss.backward()
        direction = zeros.grad.flatten(1)
        direction = direction / direction.norm(dim=1, keepdim=True).clamp_min(1e-12)
        task.loss(model, batch, (size * direction).view(zeros.shape)).loss.backward()
    return clean


def progress_bar(total: int, description: str, unit: str, enabled: bool) -> tqdm:
    """A bar on stderr; a log file (stderr not a terminal) gets a line every 30 s, not 10 a second."""
    return tqdm(
        total=total,
        desc=description,
        unit=unit,
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
        mininterval=0.1 if sys.stderr.isatty() else 30,
    )


def validation_summary(record: dict[str, Any]) -> str:
    """``valid_accuracy 0.9120, valid_macro_f1 0.9050`` from an epoch's record ('' without validation)."""
    return ", ".join(f"{k} {v:.4f}" for k, v in record.items() if k.startswith("valid_"))


def train_summary(record: dict[str, Any]) -> str:
    """``train_loss 0.4643, train_accuracy 0.8460`` from an epoch's record: what there is to say without validation."""
    return ", ".join(f"{k} {record[k]:.4f}" for k in ("train_loss", "train_accuracy") if k in record)


def warmup_linear_decay(total_steps: int, warmup: float) -> Callable[[int], float]:
    """The learning-rate factor: a linear ramp over the first ``warmup`` of the steps, then down to 0."""
    ramp = max(1, round(total_steps * warmup))

    def factor(step: int) -> float:
        if step < ramp:
            return (step + 1) / ramp
        return max(0.0, (total_steps - step) / max(1, total_steps - ramp))

    return factor


def constant_rate(step: int) -> float:
    """The learning-rate factor of ``schedule="constant"``: the peak rate at every step."""
    return 1.0


class WeightAverage:
    """An exponential moving average of the weights, the model that validation scores and training keeps.

    Small data sets overfit within two or three epochs and the best epoch's raw weights are one noisy point of
    the path; their running average sits in a flatter, better-generalising place (Polyak averaging). The decay
    grows as ``(1 + t) / (10 + t)`` up to ``decay``, so the first steps are not frozen into the average.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.steps = 0
        self.parameters = [p for p in model.parameters() if p.requires_grad]
        self.averaged = [p.detach().clone() for p in self.parameters]

    @torch.no_grad()
    def update(self) -> None:
        self.steps += 1
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        torch._foreach_lerp_(self.averaged, [p.detach() for p in self.parameters], 1.0 - decay)

    @torch.no_grad()
    def swap(self) -> None:
        """Exchange the model's weights and the averaged ones (call twice to undo)."""
        for p, a in zip(self.parameters, self.averaged, strict=True):
            held = p.detach().clone()
            p.copy_(a)
            a.copy_(held)

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "averaged": self.averaged}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps = state["steps"]
        for a, saved in zip(self.averaged, state["averaged"], strict=True):
            a.copy_(saved)


def train_step(
    model: nn.Module,
    task: Objective,
    batch: Batch,
    optimizer: torch.optim.Optimizer,
    parameters: list[nn.Parameter],
    config: TrainConfig,
    where: str = "",
    replicas: Replicas | None = None,
) -> StepResult:
    """One step: the batch's loss (and its adversarial twin) back-propagated, gradients clipped, weights updated.
    A loss that is not finite stops here (:class:`NonFiniteLoss`, naming ``where``), before any weight moves."""
    optimizer.zero_grad(set_to_none=True)
    batch = batch.to(next(model.parameters()).device)
    if config.adversarial > 0:
        result = adversarial_backward(model, task, batch, config.adversarial)
    else:
        result = task.loss(model, batch)
        result.loss.backward()
    value = float(result.loss.detach())
    bad = not math.isfinite(value)
    if bad or (replicas is not None and replicas.any(bad)):  # before any weight moves, in every process at once
        raise NonFiniteLoss(value if bad else float("nan"), where)
    clip_gradients(parameters, config.clip)
    optimizer.step()
    task.advance(result)
    return result


class NonFiniteLoss(RnnkitError):
    """The training loss became NaN or infinite; the weights were not updated with it."""

    def __init__(self, value: float, where: str = "") -> None:
        at = f" at {where}" if where else ""
        super().__init__(
            f"the training loss became {value}{at}; training stopped there, and the last checkpoint and any finished "
            "model are intact: lower --lr (or --clip) and train again"
        )
        self.value = value


def train_loop(
    model: nn.Module,
    task: Objective,
    config: TrainConfig,
    run_dir: str | Path | None = None,
    resume: bool = False,
    fingerprint: str = "",
    progress: bool = True,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
    name: str = "",
    replicas: Replicas | None = None,
) -> FitResult:
    """Train ``model`` on ``task`` in place and leave the best weights (by the task's validation score) in it.

    With ``replicas`` (one of several processes under ``torchrun``), the steps go through DistributedDataParallel,
    ``task`` gives this process's part of each batch, and only process 0 writes to ``run_dir`` and shows progress.
    """
    loop = Loop(model, task, config, run_dir, fingerprint, progress, on_epoch_end, name, replicas)
    if resume:
        loop.resume()
    return loop.run()


class Loop:
    """One run of the training loop, read top to bottom: set up (:meth:`__init__`), take up a checkpoint
    (:meth:`resume`), then epoch after epoch its steps (:meth:`train_epoch`) and its end (:meth:`end_epoch`:
    validation, the best weights, the log, a checkpoint), until the epochs, the patience or the time run out."""

    def __init__(
        self,
        model: nn.Module,
        task: Objective,
        config: TrainConfig,
        run_dir: str | Path | None,
        fingerprint: str,
        progress: bool,
        on_epoch_end: Callable[[dict[str, Any]], None] | None,
        name: str,
        replicas: Replicas | None,
    ) -> None:
        seed_everything(config.seed)
        self.model, self.task, self.config, self.name, self.replicas = model, task, config, name, replicas
        self.fingerprint, self.on_epoch_end = fingerprint, on_epoch_end
        self.device = torch.device(config.device)
        model.to(self.device)  # and back to the CPU at the end, where prediction, saving and export expect it
        main = replicas is None or replicas.main
        self.progress = progress and main
        self.stepper: nn.Module = model
        if replicas is not None:
            torch.manual_seed(config.seed + 1_000_003 * replicas.rank)  # each process draws its own dropout masks
            self.stepper = Replicated(model, find_unused_parameters=config.unfreeze)  # process 0's first weights
        # fused=True: one kernel for the whole update; on a CPU it cut the optimizer from 30% to 9% of a step.
        groups = discriminative_groups(model, config.lr, config.layer_decay) if config.layer_decay > 1 else None
        self.optimizer = torch.optim.AdamW(
            groups or model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True
        )
        steps = config.epochs * len(task)
        factor = {
            "linear": lambda: warmup_linear_decay(steps, config.warmup),
            "slanted": lambda: slanted_triangular(steps),
            "constant": lambda: constant_rate,
        }[config.schedule]()
        self.schedule = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)
        self.average = WeightAverage(model, config.average) if config.average > 0 else None
        self.result = FitResult()
        self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.stale = 0
        self.start_epoch = 1
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.sign = 1.0 if task.higher_is_better else -1.0
        self.deadline = None if config.max_minutes is None else time.perf_counter() + 60 * config.max_minutes
        self.writes = self.run_dir is not None and main
        self.partial: dict[str, Any] | None = None  # where a checkpoint taken within an epoch left off
        self.parameters = [p for p in model.parameters() if p.requires_grad]
        self.every = config.checkpoint_every if self.run_dir is not None else None
        self.stop = StopSignals(active=False)
        # Turns only for a run on every core: the processes of one --nproc run must step together, and members
        # trained side by side (or a run given fewer threads) leave cores to the others.
        every_core = replicas is None and self.device.type == "cpu" and torch.get_num_threads() >= usable_cores() > 1
        self.turns = Turns(active=config.share_cores and every_core)

    def everyone(self, value: Any) -> Any:
        """``value``, or under ``torchrun`` one per process (a checkpoint keeps each process's own)."""
        return value if self.replicas is None else self.replicas.gather(value)

    def own(self, saved: Any) -> Any:
        """This process's part of what :meth:`everyone` saved (process 0's for a run with fewer processes)."""
        if not isinstance(saved, list):
            return saved
        replicas = self.replicas
        return saved[replicas.rank if replicas is not None and replicas.rank < len(saved) else 0]

    def resume(self) -> None:
        """Take up the run where its checkpoint left it: weights, optimiser, schedule, average, history, random
        state, and the position within an epoch."""
        state = load_checkpoint(self.run_dir, self.fingerprint)
        for half_written in self.run_dir.glob(f".{CHECKPOINT}.*.tmp"):  # a process killed while writing left it
            half_written.unlink(missing_ok=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        if self.average is not None:
            self.average.load_state_dict(state["average"])
        self.best_state = state["best_state"]
        self.result = FitResult(state["history"], state["best_epoch"], state["best_score"])
        self.stale = state["stale"]
        self.start_epoch = state["epoch"] + 1
        self.partial = state.get("in_epoch")
        torch.set_rng_state(self.own(state["torch_rng"]))
        if self.device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(self.own(state["cuda_rng"]), self.device)

    def checkpoint(self, epoch_done: int, in_epoch: dict[str, Any] | None = None) -> None:
        """Everything to go on from here: after epoch ``epoch_done``, and ``in_epoch`` where an epoch stands. Under
        ``torchrun`` every process takes part (what is its own, such as its random state, is gathered) and process
        0 writes."""
        rng = self.everyone(torch.get_rng_state())
        cuda_rng = self.everyone(torch.cuda.get_rng_state(self.device)) if self.device.type == "cuda" else None
        if not self.writes:
            return
        result = self.result
        save_checkpoint(
            self.run_dir,
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "schedule": self.schedule.state_dict(),
                "average": None if self.average is None else self.average.state_dict(),
                "best_state": self.best_state,
                "history": result.history,
                "best_epoch": result.best_epoch,
                "best_score": result.best_score,
                "stale": self.stale,
                "epoch": epoch_done,
                "in_epoch": in_epoch,
                "torch_rng": rng,
                "cuda_rng": cuda_rng,
                "fingerprint": self.fingerprint,
            },
        )

    def stopping(self) -> bool:
        """Asked by SIGINT or SIGTERM, in any process (all stop at the same step)."""
        asked = self.stop.received is not None
        return self.replicas.any(asked) if self.replicas is not None else asked

    def interrupted(self, where: str) -> TrainingInterrupted:
        signum = self.stop.received or signal.SIGTERM
        return TrainingInterrupted(signum, f"{self.name}stopped {where}", checkpointed=True)

    def run(self) -> FitResult:
        """Epoch after epoch until the last, the patience or the time budget; the best weights left in the model."""
        config = self.config
        with StopSignals(active=self.run_dir is not None) as self.stop, self.turns:
            for epoch in range(self.start_epoch, config.epochs + 1):
                if self.stale >= config.patience:
                    self.result.stopped_early = True
                    break
                sums, seconds = self.train_epoch(epoch)
                if self.end_epoch(epoch, sums, seconds):
                    break
            else:
                history = self.result.history
                self.result.stopped_early = self.stale >= config.patience and len(history) < config.epochs
        self.model.load_state_dict(self.best_state)
        if config.unfreeze:
            self.model.requires_grad_(True)  # every weight thawed again, as it was given
        self.model.to("cpu")
        return self.result

    def train_epoch(self, epoch: int) -> tuple[dict[str, Any], float]:
        """The steps of ``epoch`` (those after the checkpoint it resumed from): the running sums of its loss and
        tokens, and its seconds. A checkpoint every ``checkpoint_every`` steps; a signal stops it after a step's
        checkpoint; the time budget after a step."""
        model, task, config = self.model, self.task, self.config
        model.train()
        if config.unfreeze:
            thaw(model, epoch)
        task.start_epoch()
        went_on = self.partial if self.partial is not None and self.partial["epoch"] == epoch else None
        self.partial = None
        empty = {"seen": 0, "tokens": 0, "steps": 0, "loss": 0.0, "correct": None}
        sums = self.own(went_on["sums"]) if went_on else empty
        if went_on and hasattr(task, "load_state_dict"):
            task.load_state_dict(self.own(went_on["task"]))  # a language model's state carried from the batch before
        started = time.perf_counter() - (went_on["seconds"] if went_on else 0.0)
        bar = progress_bar(len(task), f"{self.name}epoch {epoch}/{config.epochs}", "batch", self.progress)
        bar.update(sums["steps"])
        for index, batch in enumerate(task.batches(epoch)):
            if index < sums["steps"]:
                continue  # done before the checkpoint this run resumed from
            where = f"epoch {epoch}, step {index + 1}"
            step = train_step(self.stepper, task, batch, self.optimizer, self.parameters, config, where, self.replicas)
            self.turns.step_done()
            self.schedule.step()
            if self.average is not None:
                self.average.update()
            self.add(sums, step, bar, started)
            within = sums["steps"] < len(task)  # the epoch's last step is followed by its own checkpoint
            due = self.every is not None and self.schedule.last_epoch % self.every == 0
            stop_now = self.stopping()
            if within and (due or stop_now):
                task_state = self.everyone(task.state_dict() if hasattr(task, "state_dict") else None)
                seconds = time.perf_counter() - started
                at = {"epoch": epoch, "sums": self.everyone(dict(sums)), "task": task_state, "seconds": seconds}
                self.checkpoint(epoch - 1, at)
            if within and stop_now:
                bar.close()
                raise self.interrupted(f"in epoch {epoch} after step {sums['steps']}")
            late = self.deadline is not None and time.perf_counter() > self.deadline
            if late or (self.replicas is not None and self.deadline is not None and self.replicas.any(late)):
                self.result.out_of_time = True
                break
        bar.close()
        return sums, time.perf_counter() - started

    def add(self, sums: dict[str, Any], step: StepResult, bar: Any, started: float) -> None:
        """Count one step into the epoch's running sums, and show them on the progress bar."""
        sums["steps"] += 1
        sums["seen"] += step.count
        sums["tokens"] += step.tokens
        sums["loss"] += float(step.loss.detach()) * step.count
        shown = {"loss": f"{sums['loss'] / sums['seen']:.4f}"}
        if step.correct is not None:
            sums["correct"] = (sums["correct"] or 0) + step.correct
            shown["acc"] = f"{sums['correct'] / sums['seen']:.3f}"
        shown["tok_s"] = f"{sums['tokens'] / max(1e-9, time.perf_counter() - started):,.0f}"
        bar.set_postfix(shown, refresh=False)
        bar.update()

    def end_epoch(self, epoch: int, sums: dict[str, Any], seconds: float) -> bool:
        """The epoch's record (over every process's part of the batches), validated on the averaged weights where
        there are any, the best weights kept, the log and a checkpoint written. Returns whether to stop (the time
        budget ran out); a signal raises."""
        task, average, result = self.task, self.average, self.result
        steps, seen, tokens, correct = sums["steps"], sums["seen"], sums["tokens"], sums["correct"]
        if self.replicas is not None:  # the epoch's figures over every process's part of the batches
            seen, tokens, loss_sum, correct_sum = self.replicas.total([seen, tokens, sums["loss"], correct or 0])
            sums = {**sums, "loss": loss_sum}
            correct = None if correct is None else correct_sum
        record: dict[str, Any] = {"epoch": epoch, "train_loss": sums["loss"] / max(1, seen)}
        if correct is not None:
            record["train_accuracy"] = correct / seen
        record |= {"lr": self.schedule.get_last_lr()[0], "seconds": seconds, "tokens_per_second": tokens / seconds}
        if steps < len(task):
            record["steps"] = steps  # a part of the epoch: the time budget ran out
        if average is not None:
            average.swap()  # score and keep the averaged weights; swapped back before the next epoch
        if task.has_validation:
            figures = task.validate(self.model)
            record.update({f"valid_{k}": v for k, v in figures.items()})
            score = self.sign * figures[task.score]
        else:
            score = float(epoch)  # no validation: the last epoch is the best one
        if score > result.best_score:
            result.best_score, result.best_epoch, self.stale = score, epoch, 0
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        else:
            self.stale += 1
        if average is not None:
            average.swap()
        record["best_epoch"] = result.best_epoch
        result.history.append(record)
        if task.has_validation:
            self.said(f"epoch {epoch}: {validation_summary(record)}; best epoch {result.best_epoch}")
        else:
            self.said(f"epoch {epoch}: {train_summary(record)}; no validation: the last epoch is kept")
        if self.writes:
            write_log(self.run_dir, result.history)
        if self.run_dir is not None:
            self.checkpoint(epoch)
        if self.on_epoch_end is not None:
            self.on_epoch_end(record)
        if self.stopping():
            raise self.interrupted(f"after epoch {epoch}")
        if result.out_of_time:
            minutes = self.config.max_minutes
            self.said(f"stopped after {minutes:g} minutes (--max-minutes), in epoch {epoch}; kept the best epoch, "
                      f"{result.best_epoch}")  # fmt: skip
        return result.out_of_time

    def said(self, line: str) -> None:
        """A line under the progress bar, from process 0."""
        if self.progress:
            tqdm.write(f"{self.name}{line}", file=sys.stderr)


def write_log(run_dir: Path, history: list[dict[str, Any]]) -> None:
    atomic_write_text(run_dir / LOG, "".join(json.dumps(record) + "\n" for record in history))


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(run_dir / CHECKPOINT, buffer.getvalue())


def load_checkpoint(run_dir: Path | None, fingerprint: str) -> dict[str, Any]:
    path = None if run_dir is None else run_dir / CHECKPOINT
    if path is None or not path.exists():
        raise RnnkitError(f"nothing to resume: no {CHECKPOINT} in {run_dir}; start the run without --resume")
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")  # onto the device by load_state_dict
    except Exception as e:  # a damaged file: say so, do not show torch's traceback
        raise RnnkitError(f"{path}: cannot read the checkpoint ({type(e).__name__}); start the run again") from None
    if state.get("fingerprint") != fingerprint:
        raise RnnkitError(f"{path}: the data or options differ from the interrupted run; resume with the same command")
    return state
