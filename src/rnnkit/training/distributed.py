"""Training in several processes with PyTorch's DistributedDataParallel, started by ``torchrun`` (or ``rnnkit train
--nproc N``, which starts torchrun on this machine).

Every process reads the same data and builds the same vocabulary, labels and first weights (the same seed); each
takes its own part of every batch (:class:`rnnkit.data.BucketBatchSampler` with ``rank`` and ``world``, or its own
streams of a language model's text), and DDP averages the gradients, so that ``world`` processes with batches of B
take the steps of one process with batches of ``world * B``. Dropout draws its own masks in each process. Process 0
alone writes the run directory (checkpoints, logs, the model) and shows the progress bar; all agree on where it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from rnnkit.errors import RnnkitError


@dataclass(frozen=True)
class Replicas:
    """This process's place among ``world`` processes training one model."""

    rank: int
    world: int

    @property
    def main(self) -> bool:
        """Process 0: the one that writes files and talks to the user."""
        return self.rank == 0

    def gather(self, value: Any) -> list[Any]:
        """``value`` from every process, in rank order (pickled: small things only, such as a checkpoint's sums)."""
        values: list[Any] = [None] * self.world
        dist.all_gather_object(values, value)
        return values

    def share(self, value: Any) -> Any:
        """Process 0's ``value``, in every process."""
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    @property
    def device(self) -> torch.device:
        """Where the group's collectives take their tensors: this process's GPU under NCCL, else the CPU."""
        if dist.get_backend() == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true in any process (all must stop at the same step, or the others wait forever)."""
        tensor = torch.tensor([int(flag)], device=self.device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return bool(tensor.item())

    def total(self, values: list[float]) -> list[float]:
        """The sums of ``values`` over the processes."""
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return tensor.tolist()


def backend_for(device: str) -> str:
    """The process group for training on ``device``: NCCL between GPUs (where torch has it), gloo on CPUs."""
    return "nccl" if device.startswith("cuda") and dist.is_nccl_available() else "gloo"


def replicas_from_environment(device: str = "cpu") -> Replicas | None:
    """The processes of a ``torchrun`` launch (``WORLD_SIZE`` > 1), their group joined on the first call, for
    training on ``device`` (each process on the GPU of its ``LOCAL_RANK``, as
    :func:`rnnkit.training.device.choose_device` chooses it); ``None`` for a plain run."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    if not dist.is_initialized():
        backend = backend_for(device)
        if backend == "nccl":
            torch.cuda.set_device(torch.device(device))  # NCCL's collectives run on the current device
        dist.init_process_group(backend)
    return Replicas(dist.get_rank(), dist.get_world_size())


class Replicated(DistributedDataParallel):
    """DDP that lets a task read the network's own attributes (``config``, ``noise_shape``, ``crf`` ...)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


def agree(replicas: Replicas | None, compute: Callable[[], Any]) -> Any:
    """``compute()`` run by process 0 alone (choosing and making the run directory), its value, or the one-line
    error it raised, shared with every process, so that all go on, or all stop, together."""
    if replicas is None:
        return compute()
    outcome: tuple[str, Any] | None = None
    if replicas.main:
        try:
            outcome = ("value", compute())
        except RnnkitError as e:
            outcome = ("error", str(e))
    kind, value = replicas.share(outcome)
    if kind == "error":
        raise RnnkitError(value)
    return value
