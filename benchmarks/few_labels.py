"""The learning curve that made ULMFiT's name, on SST-2 sentences: 100, 500, 1,000 and all labelled training
sentences, trained without ``--pretrain``, with it (the language model also reading the SST-2 GLUE phrases as
unlabelled text), and with it and ``--self-train`` (the pretrained classifier labels those phrases, and a new one
learns from its confident labels too), three seeds each, scored on the SST-2 sentences test file (or, to choose
settings, on its dev file: ``--score dev``). Prints a Markdown table for RESULTS.md and, scored on test, draws
``benchmarks/few_labels.png``.

Each seed draws its own class-balanced subset of each size (seeded; the same subset with and without pretraining).
The GLUE phrases come from the SST training sentences only, so no test sentence is among them. A hundred labels
leave nothing worth holding out, so every run trains on all its labelled sentences (``valid_split=0``, the last
epoch kept) for at least ``MIN_STEPS`` steps: 10 epochs, or more for a small subset (75 epochs of 4 batches for
100 sentences), the same for every arm; the self-trained network, on tens of thousands of texts, trains for
``SELF_TRAIN_EPOCHS``.

Usage: python benchmarks/few_labels.py [--sizes 100,500,1000,all] [--seeds 0,1,2] [--score test|dev]
       [--arms none,pretrain,self-train] [--shared ../shared] [--set OPTION=VALUE ...] (options for every arm, e.g.
       --set pretrain_epochs=3)
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import rnnkit

MIN_STEPS = 300
SELF_TRAIN_EPOCHS = 10  # the default --epochs: a hundred labels' 75 epochs would be 75 passes over 30,000 texts
ARMS = {"none": "without pretraining", "pretrain": "with pretraining", "self-train": "with pretraining, self-trained"}


def epochs_for(size: int, batch_size: int = 32) -> int:
    """Enough epochs of ``size`` sentences for ``MIN_STEPS`` steps, and at least the default 10."""
    return max(10, -(-MIN_STEPS // -(-size // batch_size)))


def subset(rows: list[tuple[str, str]], size: int, seed: int) -> list[tuple[str, str]]:
    """``size`` rows drawn without replacement, each class in its share of the whole (seeded)."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i, (label, _) in enumerate(rows):
        by_label.setdefault(label, []).append(i)
    chosen: list[int] = []
    for _, indices in sorted(by_label.items()):
        share = round(size * len(indices) / len(rows))
        chosen += rng.choice(indices, size=share, replace=False).tolist()
    return [rows[i] for i in sorted(chosen)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--sizes", default="100,500,1000,all")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--score", choices=("test", "dev"), default="test", help="the SST-2 sentences file scored")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"which of {', '.join(ARMS)} to run")
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE")
    parser.add_argument("--plot", type=Path, help="where to draw the curve [default: few_labels.png, on test only]")
    args = parser.parse_args()
    overrides = {}
    for item in args.set:
        key, value = item.split("=", 1)
        try:
            overrides[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key.replace("-", "_")] = value
    root = args.shared / "datasets"
    with open(root / "sst2_sentences" / "train.csv", newline="", encoding="utf-8") as f:
        rows = [(r["label"], r["text"]) for r in csv.DictReader(f)]
    test, unlabeled = root / "sst2_sentences" / f"{args.score}.csv", root / "sst2_glue" / "train.csv"
    sizes = [len(rows) if s == "all" else int(s) for s in args.sizes.split(",")]
    arms = args.arms.split(",")
    if not set(arms) <= set(ARMS):
        parser.error(f"--arms: choose from {', '.join(ARMS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    print(
        f"# rnnkit {rnnkit.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"options {overrides or 'defaults'}; seeds {seeds}; unlabelled: {unlabeled.name} of sst2_glue",
        flush=True,
    )
    results: dict[tuple[int, str], list[tuple[float, float]]] = {}
    for size in sizes:
        for seed in seeds:
            with tempfile.TemporaryDirectory() as scratch:
                data = Path(scratch) / "train.csv"
                with open(data, "w", newline="", encoding="utf-8") as f:
                    writer = csv.writer(f)
                    writer.writerow(["label", "text"])
                    writer.writerows(subset(rows, size, seed) if size < len(rows) else rows)
                for arm in arms:
                    extra = {"pretrain": True, "unlabeled": str(unlabeled)} if arm != "none" else {}
                    if arm == "self-train":
                        extra |= {"self_train": True, "self_train_epochs": SELF_TRAIN_EPOCHS}
                    started = time.perf_counter()
                    protocol = {"valid_split": 0.0, "epochs": epochs_for(size)}
                    pipeline = rnnkit.train(
                        data, test=str(test), seed=seed, out=str(Path(scratch) / f"run-{arm}"), quiet=True,
                        **{**protocol, **overrides, **extra},
                    )  # fmt: skip
                    seconds = time.perf_counter() - started
                    results.setdefault((size, arm), []).append((pipeline.report["accuracy"] * 100, seconds))
                    print(
                        f"size {size}, seed {seed}, {ARMS[arm]}: "
                        f"{args.score} {pipeline.report['accuracy'] * 100:.1f}, {seconds:.0f} s",
                        flush=True,
                    )
    print(f"\n| labelled sentences | {' | '.join(ARMS[arm] for arm in arms)} | seconds ({' / '.join(arms)}) |")
    print("|---:|" + "---:|" * (len(arms) + 1))

    def cell(values: list[float]) -> str:
        spread = f" ± {statistics.stdev(values):.1f}" if len(values) > 1 else ""
        return f"{statistics.mean(values):.1f}{spread} ({', '.join(f'{v:.1f}' for v in values)})"

    for size in sizes:
        accuracies = " | ".join(cell([a for a, _ in results[(size, arm)]]) for arm in arms)
        seconds = " / ".join(f"{statistics.mean(s for _, s in results[(size, arm)]):.0f}" for arm in arms)
        print(f"| {size:,} | {accuracies} | {seconds} |")
    full, thousand = len(rows), 1000
    mean = {k: statistics.mean(a for a, _ in v) for k, v in results.items()}
    if (thousand, "none") in mean and (full, "none") in mean:
        gap = mean[(full, "none")] - mean[(thousand, "none")]
        for arm in (arm for arm in arms if arm != "none"):
            closed = (mean[(thousand, arm)] - mean[(thousand, "none")]) / gap if gap > 0 else float("nan")
            print(f"With 1,000 labels, {ARMS[arm]} closes {closed:.0%} of the gap to all labels without it.")
    plot = args.plot or (Path(__file__).parent / "few_labels.png" if args.score == "test" else None)
    if plot is None:
        return
    try:
        from rnnkit.plots import new_figure, png
    except ImportError:
        return
    figure = new_figure(5.5, 3.6)
    axes = figure.add_subplot()
    for arm in arms:
        means = [statistics.mean(a for a, _ in results[(s, arm)]) for s in sizes]
        axes.plot(sizes, means, marker="o", label=ARMS[arm])
    axes.set_xscale("log")
    axes.set_xlabel("labelled training sentences")
    axes.set_ylabel(f"SST-2 {args.score} accuracy (%)")
    axes.legend()
    plot.write_bytes(png(figure))


if __name__ == "__main__":
    main()
