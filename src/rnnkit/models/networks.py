"""The network of any task's configuration: the builder half of the task registry (the configurations are in
:mod:`rnnkit.models.config`)."""

from __future__ import annotations

from torch import nn

from rnnkit.models.classifier import build_classifier
from rnnkit.models.config import ClassifierConfig, LanguageModelConfig, TaggerConfig
from rnnkit.models.language_model import LanguageModel
from rnnkit.models.tagger import SequenceTagger


def build_model(config: ClassifierConfig | LanguageModelConfig | TaggerConfig) -> nn.Module:
    """A new network for ``config``, initialised from torch's random stream."""
    if isinstance(config, LanguageModelConfig):
        return LanguageModel(config)
    if isinstance(config, TaggerConfig):
        return SequenceTagger(config)
    return build_classifier(config)
