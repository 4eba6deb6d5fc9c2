"""Layer 4: networks built from the layers below.

``ClassifierConfig`` and ``weight_shapes`` need no torch (a saved model is checked, and run by onnxruntime,
without it); the networks load torch on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from rnnkit.models.config import MAX_MEMBERS, MODELS, ClassifierConfig, weight_shapes

_NETWORKS = ("BagOfEmbeddings", "Ensemble", "TextClassifier", "build_model", "members_of")
__all__ = [
    "MAX_MEMBERS",
    "MODELS",
    "BagOfEmbeddings",
    "ClassifierConfig",
    "Ensemble",
    "TextClassifier",
    "build_model",
    "members_of",
    "weight_shapes",
]

if TYPE_CHECKING:
    from rnnkit.models.classifier import BagOfEmbeddings, Ensemble, TextClassifier, build_model, members_of


def __getattr__(name: str) -> Any:
    if name in _NETWORKS:
        return getattr(import_module("rnnkit.models.classifier"), name)
    raise AttributeError(f"module 'rnnkit.models' has no attribute {name!r}")
