"""The classification metrics, now in :mod:`rnnkit.metrics` (torch-free); re-exported here for older imports."""

from rnnkit.metrics import classification_report, confusion_matrix, format_report

__all__ = ["classification_report", "confusion_matrix", "format_report"]
