"""Where training runs: ``--device auto|cpu|cuda``. Nothing needs a GPU; one is used when asked, or found (auto)."""

from __future__ import annotations

import os

import torch

from rnnkit.errors import RnnkitError
from rnnkit.options import CHOICES


def choose_device(name: str) -> str:
    """The torch device for ``--device name``: ``auto`` is a CUDA GPU when torch sees one, else the CPU; ``cuda``
    without one is refused in one line. Under torchrun each process takes the GPU of its ``LOCAL_RANK``."""
    if name not in CHOICES["device"]:
        raise RnnkitError(f"--device must be one of {', '.join(CHOICES['device'])}, got {name!r}")
    found = torch.cuda.is_available()
    if name == "cuda" and not found:
        raise RnnkitError("--device cuda: torch sees no CUDA GPU here; use --device cpu (or auto)")
    if name == "cpu" or not found:
        return "cpu"
    local = os.environ.get("LOCAL_RANK")
    return f"cuda:{local}" if local is not None else "cuda"
