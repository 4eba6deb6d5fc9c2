"""Training speed of translation settings, side by side: target tokens per second of each variant, measured in turns
in one process so that a shared machine's load falls on all of them alike (read the ratios).

    python benchmarks/translate_train_speed.py "{}" "{'input_feeding': True}" "{'pieces': 8000}"

Each variant trains ``--steps`` steps on the same Tatoeba batches (after 3 to warm up), ``--rounds`` times in turn;
the median of its rounds is reported, with its ratio to the first variant's.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import time
from pathlib import Path

import torch

from rnnkit.options import TrainOptions
from rnnkit.tasks.translate.data import read_pairs
from rnnkit.tasks.translate.network import TranslationNetwork
from rnnkit.tasks.translate.objective import TranslateTask, encode_pairs
from rnnkit.tasks.translate.train import learn_pieces, network_settings, training_precision
from rnnkit.training.trainer import TrainConfig, seed_everything, train_step

DATA = Path("../shared/datasets/tatoeba_eng_fra/split")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+", help="Python dicts of rnnkit train --task translate options")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pairs", type=int, default=30000, help="training pairs to learn sub-words from and batch")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train = read_pairs(DATA / "train.tsv")
    train = train.subset(list(range(0, len(train), max(1, len(train) // args.pairs))))
    runs = []
    for text in args.variants:
        s = TrainOptions(task="translate", **ast.literal_eval(text)).resolve()
        source, target = learn_pieces(train, s)
        encoded = encode_pairs(train, source, target, s.max_length)
        seed_everything(0)
        network = TranslationNetwork(network_settings(s, source, target))
        task = TranslateTask(
            encoded, None, s.batch_size, 0, s.label_smoothing, precision=training_precision(s.precision, "cpu")
        )
        config = TrainConfig(batch_size=s.batch_size, lr=s.lr, weight_decay=s.weight_decay, clip=s.clip)
        optimizer = torch.optim.AdamW(network.parameters(), lr=s.lr, fused=True)
        batches = list(b for _, b in zip(range(args.steps + 3), task.batches(1), strict=False))
        runs.append(
            {
                "variant": text,
                "network": network,
                "task": task,
                "config": config,
                "optimizer": optimizer,
                "batches": batches,
                "rates": [],
            }
        )
    for _ in range(args.rounds):
        for run in runs:
            parameters = list(run["network"].parameters())
            tokens, started = 0, 0.0
            for i, batch in enumerate(run["batches"]):
                if i == 3:
                    started = time.perf_counter()
                result = train_step(run["network"], run["task"], batch, run["optimizer"], parameters, run["config"])
                tokens += result.tokens if i >= 3 else 0
            run["rates"].append(tokens / (time.perf_counter() - started))
    first = statistics.median(runs[0]["rates"])
    for run in runs:
        rate = statistics.median(run["rates"])
        print(
            json.dumps(
                {
                    "variant": run["variant"],
                    "target_tokens_per_s": round(rate),
                    "ratio": round(rate / first, 2),
                    "threads": args.threads,
                    "load": round(os.getloadavg()[0], 1),
                }
            )
        )


if __name__ == "__main__":
    main()
