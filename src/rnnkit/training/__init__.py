"""Layer 5: training and evaluating a model."""

from rnnkit.metrics import classification_report, format_report  # torch-free; here for older imports
from rnnkit.training.trainer import (
    METRICS,
    FitResult,
    TrainConfig,
    evaluate_model,
    fit,
    predict_logits,
    seed_everything,
    train_loop,
    train_step,
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
    "train_loop",
    "train_step",
]
