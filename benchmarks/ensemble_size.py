"""How many networks the default ensemble should average: validation (and test) accuracy of 1..K members.

Trains one run of ``--ensemble K`` per data set through ``rnnkit.train`` (the defaults otherwise), then scores the
averages of its first 1, 2, ..., K members on the run's own validation cut (the same stratified 10% of the training
file that the run held out) and on the test file. Choose the size on the validation columns; the test columns are
only reported.

Usage: python benchmarks/ensemble_size.py [--datasets trec,mr,sst2_sentences] [--members 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from accuracy import DATASETS, parse_value

import rnnkit
from rnnkit.data import read_examples, stratified_split


def accuracy(probabilities: list[torch.Tensor], labels: torch.Tensor) -> float:
    return float((sum(probabilities).argmax(1) == labels).float().mean()) * 100


def member_probabilities(pipeline: rnnkit.Pipeline, texts: list[str]) -> list[torch.Tensor]:
    """Each member's class probabilities for ``texts`` (the ensemble's own batching, member by member)."""
    ensemble, engine = pipeline.model, pipeline.engine
    pipeline.engine = "torch"  # runs whatever network pipeline.model holds
    result = []
    for member in ensemble.members:
        pipeline.model = member
        result.append(torch.from_numpy(pipeline.predict_proba(texts)))
    pipeline.model, pipeline.engine = ensemble, engine
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--datasets", default="trec,mr,sst2_sentences")
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE", help="override a default")
    args = parser.parse_args()
    overrides = {k.replace("-", "_"): parse_value(v) for k, v in (item.split("=", 1) for item in args.set)}
    root = args.shared / "datasets"
    sizes = range(1, args.members + 1)
    print(
        f"# rnnkit {rnnkit.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"seed {args.seed}; options: {overrides or 'defaults'}"
    )
    print(
        "| data set | "
        + " | ".join(f"valid, {k}" for k in sizes)
        + " | "
        + " | ".join(f"test, {k}" for k in sizes)
        + " |"
    )
    print("|---|" + "---:|" * (2 * args.members))
    for name in args.datasets.split(","):
        train, test = root / DATASETS[name][0], root / DATASETS[name][1]
        with tempfile.TemporaryDirectory() as out:
            pipeline = rnnkit.train(
                train, test=str(test), ensemble=args.members, seed=args.seed, out=out, quiet=True,
                **{"valid_split": 0.1, **overrides},  # the cut scored below (the fast preset holds none out)
            )
        examples = read_examples(train)
        _, valid_index = stratified_split(examples.labels, 0.1, args.seed)  # the cut the run held out
        valid_texts = [examples.texts[i] for i in valid_index]
        valid_labels = torch.tensor(pipeline.label_indices([examples.labels[i] for i in valid_index]))
        test_examples = read_examples(test)
        test_labels = torch.tensor(pipeline.label_indices(test_examples.labels))
        valid = member_probabilities(pipeline, valid_texts)
        tested = member_probabilities(pipeline, test_examples.texts)
        # The same cut as the run's: all K members must score what the run recorded.
        assert abs(accuracy(valid, valid_labels) - pipeline.training["valid"]["accuracy"] * 100) < 1e-3
        row = [f"{accuracy(valid[:k], valid_labels):.1f}" for k in sizes]
        row += [f"{accuracy(tested[:k], test_labels):.1f}" for k in sizes]
        print(f"| {name} | " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
