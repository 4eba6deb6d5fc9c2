"""Layer 4: what every task's network shares: the body (an embedding read by a :class:`~rnnkit.nn.Recurrent`
stack, with sub-word and character features) and the base of the networks' settings. Each task's own network and
settings live in its package, ``rnnkit.tasks.<name>``.

The settings need no torch (a saved model is checked, and run by onnxruntime, without it); the body loads torch on
first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from rnnkit.models.config import GATES, Settings, body_shapes, weight_shapes

__all__ = ["GATES", "RecurrentBody", "Settings", "body_shapes", "weight_shapes"]

if TYPE_CHECKING:
    from rnnkit.models.body import RecurrentBody


def __getattr__(name: str) -> Any:
    if name == "RecurrentBody":
        return import_module("rnnkit.models.body").RecurrentBody
    raise AttributeError(f"module 'rnnkit.models' has no attribute {name!r}")
