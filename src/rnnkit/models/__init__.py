"""Layer 4: networks built from the layers below."""

from rnnkit.models.classifier import (
    MODELS,
    BagOfEmbeddings,
    ClassifierConfig,
    Ensemble,
    TextClassifier,
    build_model,
    members_of,
)

__all__ = ["MODELS", "BagOfEmbeddings", "ClassifierConfig", "Ensemble", "TextClassifier", "build_model", "members_of"]
