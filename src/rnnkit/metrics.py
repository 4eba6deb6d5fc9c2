"""Metrics: a classifier's accuracy, macro-F1, per-class precision/recall/F1/support and confusion matrix; a
language model's loss on a text, perplexity and bits per character.

NumPy only, no torch: evaluating a model run by onnxruntime (a model directory or an exported ``.onnx`` file) needs
these figures without importing torch. ``rnnkit.training`` re-exports them for older imports.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``[C, C]`` counts; row = true class, column = predicted class."""
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


def classification_report(y_true, y_pred, labels: list[str]) -> dict[str, Any]:
    """Every figure a user asks of a classifier on a labelled set, as plain JSON-ready values."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    matrix = confusion_matrix(y_true, y_pred, len(labels))
    correct = np.diag(matrix).astype(float)
    support = matrix.sum(1)
    predicted = matrix.sum(0)
    precision = np.divide(correct, predicted, out=np.zeros_like(correct), where=predicted > 0)
    recall = np.divide(correct, support, out=np.zeros_like(correct), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(correct), where=denom > 0)
    present = support > 0  # macro-F1 over the classes that occur in this set
    return {
        "examples": int(len(y_true)),
        "accuracy": float(correct.sum() / max(1, len(y_true))),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "labels": list(labels),
        "confusion_matrix": matrix.tolist(),
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as a plain-text table a person reads in a terminal."""
    labels = report["labels"]
    width = max(12, *(len(label) for label in labels))
    lines = [
        f"accuracy  {report['accuracy']:.4f}   macro-F1  {report['macro_f1']:.4f}   ({report['examples']} examples)",
        "",
        f"{'class':<{width}}  precision  recall      f1  support",
    ]
    for label in labels:
        c = report["per_class"][label]
        lines.append(f"{label:<{width}}  {c['precision']:9.4f}  {c['recall']:6.4f}  {c['f1']:6.4f}  {c['support']:7d}")
    lines += ["", "confusion matrix (rows: true class, columns: predicted)"]
    cell = max(5, *(len(str(v)) for row in report["confusion_matrix"] for v in row))
    short = [label[:cell] for label in labels]
    lines.append(" " * width + "  " + " ".join(f"{s:>{cell}}" for s in short))
    for label, row in zip(labels, report["confusion_matrix"], strict=True):
        lines.append(f"{label:<{width}}  " + " ".join(f"{v:>{cell}}" for v in row))
    return "\n".join(lines)


def language_model_figures(loss: float, characters: bool) -> dict[str, float]:
    """A language model's loss in nats per token, its perplexity, and for a character model bits per character."""
    figures = {"loss": loss, "perplexity": math.exp(min(loss, 700.0))}  # exp overflows past 709
    if characters:
        figures["bits_per_character"] = loss / math.log(2)
    return figures


def text_loss(
    step: Callable[[np.ndarray, Any], tuple[np.ndarray, Any]], ids: np.ndarray, streams: int = 8, window: int = 128
) -> tuple[float, np.ndarray]:
    """A language model's mean loss (nats per token) on the token stream ``ids``, and the targets it counted.

    The text is read as ``streams`` parallel streams (fewer for a short text), in windows of ``window`` tokens with
    the state carried, by ``step(ids [B, t], state) -> (logits [B, t, V], state)`` (``state`` ``None`` at the
    start). Stream ``b`` reads its stretch of the text and predicts each next token, the first token of the next
    stretch included, so every token after the text's first is counted once (up to a remainder shorter than
    ``streams``). Training's validation and ``evaluate`` both score a text this way, on torch or onnxruntime.
    """
    streams = max(1, min(streams, (len(ids) - 1) // 2))
    per = (len(ids) - 1) // streams
    inputs = ids[: streams * per].reshape(streams, per)
    targets = ids[1 : streams * per + 1].reshape(streams, per)
    total, state = 0.0, None
    for start in range(0, per, window):
        logits, state = step(inputs[:, start : start + window], state)  # (B, t, V)
        logits = np.asarray(logits, dtype=np.float64)
        top = logits.max(-1, keepdims=True)
        log_z = np.log(np.exp(logits - top).sum(-1)) + top[..., 0]  # (B, t)
        chosen = np.take_along_axis(logits, targets[:, start : start + window, None], -1)[..., 0]
        total += float((log_z - chosen).sum())
    return total / targets.size, targets
