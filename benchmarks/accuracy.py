"""Test accuracy of rnnkit's defaults on every data set in ../shared/datasets, beside fastText's figures.

Trains with the defaults (no per-data-set settings) on each set's train file and reports on its test file. Prints a
Markdown table for RESULTS.md. The "valid accuracy" column (the saved model's accuracy on the validation cut, or
with --holdout on the rows held out) is the one to choose defaults by; the test column is only reported. The fast
preset trains on every row, so it has no validation cut ("-") unless --holdout sets rows aside.

Usage: python benchmarks/accuracy.py [--datasets trec,mr] [--seeds 0] [--presets fast,accurate] [--shared ../shared]
       [--set OPTION=VALUE ...] [--log FILE.jsonl --name NAME] [--holdout 0.1]
       python benchmarks/accuracy.py --table --log FILE.jsonl
       e.g. python benchmarks/accuracy.py --datasets trec --set dropout=0.5 --set pooling=mean
With --presets, each preset trains in turn on each set, so their times are measured in one run, side by side.
With --log, each run also appends one JSON line (name, set, seed, options, figures) to the file; --table prints the
log's means over seeds, a row per name and a column per set, for an ablation that ran in several processes.
With --holdout F, a stratified share F of each train file (cut by the run's seed) is set aside before training and
scored afterwards: the runs train on the rest, so settings that change the validation cut itself (--set
valid_split=0, training on every row) can be compared on texts that none of them saw. The log's and the table's
"valid" figures are then the held-out ones.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

import rnnkit
from rnnkit.data import read_class_names, read_examples
from rnnkit.data.readers import Examples
from rnnkit.data.split import stratified_split

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
    """The first seed's figure, and with several seeds their mean, standard deviation and each seed's figure ("-"
    where there is none: no validation cut to score)."""
    values = [r[i] for r in runs]
    if any(v is None for v in values):
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    each = ", ".join(f"{v:.{digits}f}" for v in values)
    mean, spread = statistics.mean(values), statistics.stdev(values)
    return f"{values[0]:.{digits}f} (mean {mean:.{digits}f} ± {spread:.{digits}f}: {each})"


def held_out(train: Path, classes: Path, share: float, seed: int, out: Path) -> tuple[Path, Examples]:
    """``train`` less a stratified ``share`` of its rows (cut by ``seed``), written as ``out``/train.csv with the
    labels as the file gives them, and the rows set aside, with the classes' names as labels."""
    raw = read_examples(train)
    named = read_examples(train, label_names=read_class_names(classes))
    kept, aside = stratified_split(raw.labels, share, seed)
    path = out / "train.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["label", "text"])
        writer.writerows([raw.labels[i], raw.texts[i]] for i in kept)
    texts, labels = [named.texts[i] for i in aside], [named.labels[i] for i in aside]
    return path, Examples(texts, labels, f"{train} (held out)")


def log_run(
    log: Path, name: str, dataset: str, seed: int, preset: str | None, pipeline, seconds: float, valid: dict | None
) -> None:
    """One run's figures as a JSON line, appended (a line is written whole, so parallel runs may share the file);
    ``valid`` is ``None`` for a run trained on every row without --holdout."""
    valid = valid or {}
    figures = {
        "name": name, "dataset": dataset, "seed": seed, "preset": preset, "threads": torch.get_num_threads(),
        "options": pipeline.training["options"], "seconds": round(seconds, 1),
        "valid_accuracy": valid.get("accuracy"), "valid_macro_f1": valid.get("macro_f1"),
        "held_out": "held_out" in valid,
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
            scored = None not in (r["valid_accuracy"] for r in runs)  # no validation cut: "-"
            v = statistics.mean(100 * r["valid_accuracy"] for r in runs) if scored else None
            t = statistics.mean(100 * r["test_accuracy"] for r in runs)
            valid.append(v)
            test.append(t)
            seconds += sum(r["seconds"] for r in runs)
            shown = "-" if v is None else f"{v:.1f}"
            cells.append(f"{shown} ({t:.1f}){'' if len(runs) == usual else f' [{len(runs)}]'}")
        mean_valid = "-" if None in valid else f"{statistics.mean(valid):.2f}"
        mean = f"{mean_valid} ({statistics.mean(test):.2f})" if valid else ""
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
    parser.add_argument(
        "--holdout", type=float, default=0.0, help="set aside this share of each train file, score it after training"
    )
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
                    data = root / train
                    if args.holdout:
                        data, aside = held_out(data, classes, args.holdout, seed, Path(out))
                    started = time.perf_counter()
                    pipeline = rnnkit.train(
                        data,
                        test=str(root / test),
                        seed=seed,
                        out=str(Path(out) / "run"),
                        classes=str(classes),
                        quiet=True,
                        **({"preset": preset} if preset else {}),
                        **overrides,
                    )
                    seconds = time.perf_counter() - started
                valid = pipeline.training["valid"]
                if args.holdout:
                    valid = {**pipeline.evaluate(aside), "held_out": True}
                if args.log:
                    label = args.name or ",".join(args.set) or "defaults"
                    log_run(args.log, label, name, seed, preset, pipeline, seconds, valid)
                runs.append(
                    (
                        pipeline.report["accuracy"] * 100,
                        pipeline.report["macro_f1"] * 100,
                        seconds,
                        "/".join(str(m["best_epoch"]) for m in pipeline.training["members"]),
                        None if valid is None else valid["accuracy"] * 100,
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
