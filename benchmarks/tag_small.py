"""Tagging with little data: rnnkit's tagger on small treebanks, several seeds, dev and test.

Treebanks (from ``../shared/datasets``; none is shipped, IMST is licensed for non-commercial use only):

- ``imst``: UD Turkish IMST, an agglutinative language (37.5k training words; 29% of dev words unseen in training);
- ``ewt20k``: UD English EWT's training file cut to its first sentences up to 20,000 words (file order, so whole
  documents, as a small treebank would be annotated), with EWT's own dev and test;
- ``ewt``: UD English EWT whole (205k training words), to check that what helps small data keeps the full-data figure.

Each run trains ``rnnkit.train(train, task="tag", valid=dev, seed=S, **settings)`` with the defaults unless ``--set``
changes them (the best epoch chosen on dev), then scores dev and test: token accuracy and accuracy on words the
model's vocabulary does not hold. Choose on dev; test is reported, never used to choose. One JSON line a run is
appended to ``--log``; ``--table`` prints the mean over seeds of every (treebank, name) in a log.

Usage: python benchmarks/tag_small.py --treebank imst ewt20k [--seeds 0 1 2] [--name NAME] [--set KEY=VALUE ...]
           [--log benchmarks/logs/tag_small.jsonl]
       python benchmarks/tag_small.py --table [--log ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from tag_ewt import value

import rnnkit

DATA = Path(__file__).parents[1] / "../shared/datasets"
CUT_WORDS = 20_000


def first_words(path: Path, words: int, out: Path) -> Path:
    """The CoNLL-U file's first sentences, whole, up to ``words`` syntactic words (integer IDs)."""
    kept, count = [], 0
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        n = sum(line.split("\t", 1)[0].isdigit() for line in block.splitlines())
        if not n or count + n > words:
            break
        kept.append(block)
        count += n
    out.write_text("\n\n".join(kept) + "\n\n", encoding="utf-8")
    return out


def treebank(name: str, folder: Path) -> tuple[Path, Path, Path]:
    """(train, dev, test) of a named treebank; the EWT cut is written into ``folder``."""
    if name == "imst":
        return tuple(DATA / "ud_turkish_imst" / f"tr_imst-ud-{s}.conllu" for s in ("train", "dev", "test"))
    train, dev, test = (DATA / "ud_english_ewt" / f"en_ewt-ud-{s}.conllu" for s in ("train", "dev", "test"))
    if name == "ewt20k":
        train = first_words(train, CUT_WORDS, folder / "en_ewt-20k-train.conllu")
    return train, dev, test


def run(name: str, bank: str, seed: int, settings: dict, folder: Path) -> dict:
    train, dev, test = treebank(bank, folder)
    start = time.perf_counter()
    tagger = rnnkit.train(
        train, task="tag", valid=str(dev), seed=seed, out=str(folder / f"{bank}-{seed}"), overwrite=True, quiet=True,
        **settings,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    member = tagger.training["members"][0]
    figures = {
        "name": name, "treebank": bank, "seed": seed, "settings": settings, "threads": torch.get_num_threads(),
        "train_seconds": round(seconds, 1), "epochs_run": len(member["history"]), "best_epoch": member["best_epoch"],
    }  # fmt: skip
    tagger.engine = "torch"
    for split, path in (("dev", dev), ("test", test)):
        report = tagger.evaluate(path)
        figures[split] = {k: report[k] for k in ("accuracy", "unseen_accuracy", "unseen_tokens", "tokens")}
    return figures


def table(log: Path) -> None:
    """Mean (and spread) over seeds of each treebank and name in the log, in the order first met."""
    rows: dict[tuple[str, str], list[dict]] = {}
    for line in log.read_text().splitlines():
        r = json.loads(line)
        rows.setdefault((r["treebank"], r["name"]), []).append(r)
    print(f"{'treebank':8} {'name':28} seeds {'dev':>6} {'±':>4} {'test':>6} {'±':>4} {'dev unseen':>10} {'s/run':>6}")
    for (bank, name), runs in rows.items():
        dev = [100 * r["dev"]["accuracy"] for r in runs]
        test = [100 * r["test"]["accuracy"] for r in runs]
        unseen = statistics.mean(100 * r["dev"]["unseen_accuracy"] for r in runs)
        spread = [statistics.stdev(v) if len(v) > 1 else 0.0 for v in (dev, test)]
        seconds = statistics.mean(r["train_seconds"] for r in runs)
        print(
            f"{bank:8} {name:28} {len(runs):5} {statistics.mean(dev):6.2f} {spread[0]:4.2f} "
            f"{statistics.mean(test):6.2f} {spread[1]:4.2f} {unseen:10.2f} {seconds:6.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--treebank", nargs="+", choices=("imst", "ewt20k", "ewt"), default=["imst", "ewt20k"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--name", default="default", help="the row's name in the log and the table")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="other rnnkit.train options")
    parser.add_argument("--log", type=Path, default=Path("benchmarks/logs/tag_small.jsonl"))
    parser.add_argument("--table", action="store_true", help="print the log's table and stop")
    args = parser.parse_args()
    if args.table:
        table(args.log)
        return
    settings = {k.replace("-", "_"): value(v) for k, v in (item.split("=", 1) for item in args.set)}
    args.log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        for bank in args.treebank:
            for seed in args.seeds:
                figures = run(args.name, bank, seed, settings, Path(folder))
                print(json.dumps(figures), flush=True)
                with args.log.open("a") as log:
                    log.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
