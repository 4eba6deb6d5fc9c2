"""Test accuracy of rnnkit's defaults on every data set in ../shared/datasets, beside fastText's figures.

Trains with the defaults (no per-data-set settings) on each set's train file, picks the best epoch on a
validation cut of that train file, and reports on its test file. Prints a Markdown table for RESULTS.md. The
"valid accuracy" column (the saved model's accuracy on the validation cut) is the one to choose defaults by; the
test column is only reported.

Usage: python benchmarks/accuracy.py [--datasets trec,mr] [--seeds 0] [--presets fast,accurate] [--shared ../shared]
       [--set OPTION=VALUE ...] [--log FILE.jsonl --name NAME]
       python benchmarks/accuracy.py --table --log FILE.jsonl
       e.g. python benchmarks/accuracy.py --datasets trec --set dropout=0.5 --set pooling=mean
With --presets, each preset trains in turn on each set, so their times are measured in one run, side by side.
With --log, each run also appends one JSON line (name, set, seed, options, figures) to the file; --table prints the
log's means over seeds, a row per name and a column per set, for an ablation that ran in several processes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

import rnnkit
from rnnkit.data import read_class_names

# name: (train, test, classes file, fastText here, floor of issue 3)
DATASETS = {
    "trec": ("trec/train.csv", "trec/test.csv", 89.2, 86.2),
    "sst2_sentences": ("sst2_sentences/train.csv", "sst2_sentences/test.csv", 81.0, 78.0),
    "mr": ("mr/split/train.csv", "mr/split/test.csv", 78.9, 75.9),
    "subj": ("subj/split/train.csv", "subj/split/test.csv", 91.7, 88.7),
    "sms_spam": ("sms_spam/split/train.csv", "sms_spam/split/test.csv", 98.4, 95.4),
    "ag_news": ("ag_news/split/train.csv", "ag_news/split/test.csv", 87.6, 84.6),
    "germeval2018": ("germeval2018/train.csv", "germeval2018/test.csv", 71.5, 68.5),
    "sst2_glue": ("sst2_glue/train.csv", "sst2_glue/dev.csv", 79.9, None),
}


def parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def show(runs: list[tuple], i: int, digits: int = 1) -> str:
    """The first seed's figure, and with several seeds their mean, standard deviation and each seed's figure."""
    values = [r[i] for r in runs]
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    each = ", ".join(f"{v:.{digits}f}" for v in values)
    mean, spread = statistics.mean(values), statistics.stdev(values)
    return f"{values[0]:.{digits}f} (mean {mean:.{digits}f} ± {spread:.{digits}f}: {each})"


def log_run(log: Path, name: str, dataset: str, seed: int, preset: str | None, pipeline, seconds: float) -> None:
    """One run's figures as a JSON line, appended (a line is written whole, so parallel runs may share the file)."""
    valid = pipeline.training["valid"]
    figures = {
        "name": name, "dataset": dataset, "seed": seed, "preset": preset, "threads": torch.get_num_threads(),
        "options": pipeline.training["options"], "seconds": round(seconds, 1),
        "valid_accuracy": valid["accuracy"], "valid_macro_f1": valid["macro_f1"],
        "test_accuracy": pipeline.report["accuracy"], "test_macro_f1": pipeline.report["macro_f1"],
        "best_epochs": [m["best_epoch"] for m in pipeline.training["members"]],
    }  # fmt: skip
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write(json.dumps(figures) + "\n")


def table(log: Path) -> None:
    """Validation (test) accuracy, the mean over the seeds run, of each name (rows, in the order first met) on each
    set (columns), with the mean over the sets a row has and its seconds in all."""
    rows: dict[str, dict[str, list[dict]]] = {}
    for line in log.read_text().splitlines():
        r = json.loads(line)
        name = r["name"] + (f" ({r['preset']})" if r["preset"] else "")  # --presets: a row per preset
        rows.setdefault(name, {}).setdefault(r["dataset"], []).append(r)
    sets = [d for d in DATASETS if any(d in row for row in rows.values())]
    counts = [len(runs) for row in rows.values() for runs in row.values()]
    usual = max(set(counts), key=counts.count)  # a cell with another number of seeds says how many it has
    print("| name | " + " | ".join(sets) + " | mean | seconds |")
    print("|---|" + "---:|" * (len(sets) + 2))
    for name, row in rows.items():
        cells, valid, test, seconds = [], [], [], 0.0
        for d in sets:
            runs = row.get(d, [])
            if not runs:
                cells.append("")
                continue
            v = statistics.mean(100 * r["valid_accuracy"] for r in runs)
            t = statistics.mean(100 * r["test_accuracy"] for r in runs)
            valid.append(v)
            test.append(t)
            seconds += sum(r["seconds"] for r in runs)
            cells.append(f"{v:.1f} ({t:.1f}){'' if len(runs) == usual else f' [{len(runs)}]'}")
        mean = f"{statistics.mean(valid):.2f} ({statistics.mean(test):.2f})" if valid else ""
        print(f"| {name} | " + " | ".join(cells) + f" | {mean} | {seconds:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="0", help="comma-separated seeds; mean and spread when several")
    parser.add_argument(
        "--presets", default="", help="comma-separated presets (fast,accurate), each run in turn on every set"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        help="override a default (for ablations), e.g. --set pooling=mean",
    )
    parser.add_argument("--log", type=Path, help="append one JSON line a run to this file")
    parser.add_argument("--name", default="", help="the runs' name in --log (default: the options set)")
    parser.add_argument("--table", action="store_true", help="print --log's means over seeds and stop")
    args = parser.parse_args()
    if args.table:
        if args.log is None:
            parser.error("--table reads the file given with --log")
        table(args.log)
        return
    overrides = dict(item.split("=", 1) for item in args.set)
    overrides = {k.replace("-", "_"): parse_value(v) for k, v in overrides.items()}
    seeds = [int(s) for s in args.seeds.split(",")]
    root = args.shared / "datasets"

    print(
        f"# rnnkit {rnnkit.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"options: {overrides or 'defaults'}; seeds {seeds}"
    )
    presets = args.presets.split(",") if args.presets else [None]
    print(
        "| data set | preset | valid accuracy | test accuracy | macro-F1 | train seconds | best epoch "
        "| fastText here | floor (#3) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    seconds_by_preset: dict[str | None, list[float]] = {}
    for name in args.datasets.split(","):
        train, test, fasttext, floor = DATASETS[name]
        classes = root / train.split("/")[0] / "classes.txt"
        names = read_class_names(classes)
        for preset in presets:  # each preset in turn on the same set: times measured in one run, side by side
            runs = []
            for seed in seeds:
                with tempfile.TemporaryDirectory() as out:
                    started = time.perf_counter()
                    pipeline = rnnkit.train(
                        root / train,
                        test=str(root / test),
                        classes=str(classes),
                        seed=seed,
                        out=out,
                        quiet=True,
                        **({"preset": preset} if preset else {}),
                        **overrides,
                    )
                    seconds = time.perf_counter() - started
                if args.log:
                    label = args.name or ",".join(args.set) or "defaults"
                    log_run(args.log, label, name, seed, preset, pipeline, seconds)
                runs.append(
                    (
                        pipeline.report["accuracy"] * 100,
                        pipeline.report["macro_f1"] * 100,
                        seconds,
                        "/".join(str(m["best_epoch"]) for m in pipeline.training["members"]),
                        pipeline.training["valid"]["accuracy"] * 100,
                    )
                )
            assert len(names) == len(pipeline.labels)
            seconds_by_preset.setdefault(preset, []).extend(r[2] for r in runs)
            print(
                f"| {name} | {preset or pipeline.training['options'].get('preset')} | {show(runs, 4)} "
                f"| {show(runs, 0)} | {show(runs, 1)} | {show(runs, 2, 0)} | {runs[0][3]} | {fasttext} "
                f"| {floor or '-'} |",
                flush=True,
            )
    if len(presets) > 1:
        total = {preset: sum(seconds) for preset, seconds in seconds_by_preset.items()}
        print("\ntraining seconds in all: " + ", ".join(f"{p} {t:.0f}" for p, t in total.items()))


if __name__ == "__main__":
    main()
