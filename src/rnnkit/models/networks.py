"""The network of any task's configuration: the builder half of the task registry (the configurations are in
:mod:`rnnkit.models.config`)."""

from __future__ import annotations

from torch import nn

from rnnkit.models.classifier import build_classifier
from rnnkit.models.config import ClassifierConfig, LanguageModelConfig
from rnnkit.models.language_model import LanguageModel


def build_model(config: ClassifierConfig | LanguageModelConfig) -> nn.Module:
    """A new network for ``config``, initialised from torch's random stream."""
    if isinstance(config, LanguageModelConfig):
        return LanguageModel(config)
    return build_classifier(config)
