"""A stratified, seeded train/validation split: each class keeps its share in both parts."""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def stratified_split(labels: list[str], valid_fraction: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """Indices ``(train, valid)``: about ``valid_fraction`` of each class goes to validation.

    A class with a single example stays in training. Both lists come back in file order.
    """
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be between 0 and 1, got {valid_fraction}")
    rng = np.random.default_rng(seed)
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    valid: list[int] = []
    for label in sorted(by_class):
        members = by_class[label]
        if len(members) < 2:
            continue
        take = min(len(members) - 1, max(1, round(len(members) * valid_fraction)))
        valid.extend(rng.permutation(members)[:take].tolist())
    chosen = set(valid)
    return [i for i in range(len(labels)) if i not in chosen], sorted(valid)
