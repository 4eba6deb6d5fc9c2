"""Layer 4: networks built from the layers below.

``ClassifierConfig`` and ``weight_shapes`` need no torch (a saved model is checked, and run by onnxruntime,
without it); the networks load torch on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from rnnkit.models.config import (
    MAX_MEMBERS,
    MODELS,
    TASK_CONFIGS,
    ClassifierConfig,
    LanguageModelConfig,
    TaggerConfig,
    weight_shapes,
)

# Where each network lives; they load torch on first use.
_NETWORKS = {
    "BagOfEmbeddings": "rnnkit.models.classifier",
    "Ensemble": "rnnkit.models.classifier",
    "TextClassifier": "rnnkit.models.classifier",
    "members_of": "rnnkit.models.classifier",
    "LanguageModel": "rnnkit.models.language_model",
    "SequenceTagger": "rnnkit.models.tagger",
    "build_model": "rnnkit.models.networks",
}
__all__ = [
    "MAX_MEMBERS",
    "MODELS",
    "TASK_CONFIGS",
    "BagOfEmbeddings",
    "ClassifierConfig",
    "Ensemble",
    "LanguageModel",
    "LanguageModelConfig",
    "SequenceTagger",
    "TaggerConfig",
    "TextClassifier",
    "build_model",
    "members_of",
    "weight_shapes",
]

if TYPE_CHECKING:
    from rnnkit.models.classifier import BagOfEmbeddings, Ensemble, TextClassifier, members_of
    from rnnkit.models.language_model import LanguageModel
    from rnnkit.models.networks import build_model
    from rnnkit.models.tagger import SequenceTagger


def __getattr__(name: str) -> Any:
    if name in _NETWORKS:
        return getattr(import_module(_NETWORKS[name]), name)
    raise AttributeError(f"module 'rnnkit.models' has no attribute {name!r}")
