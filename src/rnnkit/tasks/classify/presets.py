"""A classifier's presets (sets of defaults, chosen on validation) and the size of an ensemble: what the options
table of the task and its training both read, so they live apart from both."""

from __future__ import annotations

from typing import Any

from rnnkit.tasks.classify.config import MAX_MEMBERS

__all__ = ["AUTO_ENSEMBLE", "AUTO_ENSEMBLE_MAX_TEXTS", "DEFAULT_PRESET", "MAX_MEMBERS", "PRESETS", "ensemble_members"]

# A classifier's presets: each names the options it sets over the task's defaults (which are "accurate").
# fast: one network that reads sub-words, trained on every row for eight epochs, the last kept (no validation cut).
# On rows held out of the seven shared training files it scored 0.7 points above the same network trained on the
# rest less a validation cut and stopped at its best epoch; eight epochs rather than ten keep it within a quarter
# of accurate's time (benchmarks/RESULTS.md, issue 29).
PRESETS: dict[str, dict[str, Any]] = {
    "fast": {"ensemble": 1, "subwords": 10_000, "valid_split": 0.0, "epochs": 8},
    "accurate": {},  # five adversarially trained networks averaged below 20,000 texts (AUTO_ENSEMBLE), else one
}
DEFAULT_PRESET = "fast"
# Measured in benchmarks/RESULTS.md: five members add 1-2 points on data sets of a few thousand texts; on tens of
# thousands a single network varies less from seed to seed and takes minutes, so it trains alone.
AUTO_ENSEMBLE = 5
AUTO_ENSEMBLE_MAX_TEXTS = 20_000


def ensemble_members(options: Any, train_texts: int) -> int:
    """``--ensemble`` (1 under ``--preset fast``), or when it is not given (``--preset accurate``): 5 members below
    20,000 training texts, else 1."""
    if options.ensemble is not None:
        return options.ensemble
    return AUTO_ENSEMBLE if train_texts < AUTO_ENSEMBLE_MAX_TEXTS else 1
