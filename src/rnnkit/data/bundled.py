"""The data set bundled with rnnkit: a 6,000 / 1,600 train/test sample of AG News (see its PROVENANCE.md)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class BundledDataset:
    name: str
    train: Path
    test: Path
    classes: Path
    provenance: Path


def ag_news_sample() -> BundledDataset:
    root = Path(str(resources.files("rnnkit") / "datasets" / "ag_news_sample"))
    return BundledDataset(
        "AG News sample (6,000 train / 1,600 test)",
        root / "train.csv.gz",
        root / "test.csv.gz",
        root / "classes.txt",
        root / "PROVENANCE.md",
    )
