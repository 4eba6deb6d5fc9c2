"""Layer 4: networks built from the layers below."""

from rnnkit.models.classifier import MODELS, BagOfEmbeddings, ClassifierConfig, TextClassifier, build_model

__all__ = ["MODELS", "BagOfEmbeddings", "ClassifierConfig", "TextClassifier", "build_model"]
