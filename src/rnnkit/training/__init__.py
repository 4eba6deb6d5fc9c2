"""Layer 5: training and evaluating a model."""

from rnnkit.training.metrics import classification_report, format_report
from rnnkit.training.trainer import (
    METRICS,
    FitResult,
    TrainConfig,
    evaluate_model,
    fit,
    predict_logits,
    seed_everything,
)

__all__ = [
    "METRICS",
    "FitResult",
    "TrainConfig",
    "classification_report",
    "evaluate_model",
    "fit",
    "format_report",
    "predict_logits",
    "seed_everything",
]
