"""What the fast preset's two cheaper embedding steps save: the whole ``rnnkit.train`` of the default (one
adversarially trained network reading hashed n-grams) with the steps as they were, against the steps as they are.

* **n-grams** were averaged by gathering every n-gram's vector of every distinct word (``[U, K, E]``, padded to the
  longest word) and summing; now one fused ``embedding_bag`` (mean, padding left out) does it without that tensor,
  forwards and backwards;
* **adversarial training** embedded the batch's words twice, once per pass; now the second pass reads the first
  pass's vectors (``RecurrentBody.embedded_once``), and the tables are back-propagated once with both passes'
  gradients.

Arms: "before" (both as they were, by putting the old code back for the run), "embedding_bag only", and "now". Each
trains 2 epochs on SST-2 sentences (the bundled AG News sample without ../shared), seed 0; the arms alternate for
``--rounds`` rounds and the medians of their seconds are compared in one process. The gradients are the same
(tests/training/test_trainer.py), so each arm trains the same network to float rounding.

Usage: python benchmarks/embed_once.py [--rounds 4] [--epochs 2]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import Tensor

import rnnkit
from rnnkit.data.bundled import ag_news_sample
from rnnkit.models.body import RecurrentBody
from rnnkit.text import PAD_ID


def gathered_mean(body: RecurrentBody, ngrams: Tensor) -> Tensor:
    """The n-grams' mean as it was: every n-gram's vector gathered, ``[U, K, E]``, then summed."""
    counts = (ngrams != PAD_ID).sum(1, keepdim=True).clamp_min(1)
    return body.subwords(ngrams).sum(1) / counts


def embedded_twice(body: RecurrentBody) -> contextlib.AbstractContextManager:
    """Adversarial training as it was: each pass embeds the words itself."""
    return contextlib.nullcontext()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    data = args.shared / "datasets/sst2_sentences/train.csv"
    data = data if data.exists() else ag_news_sample().train
    now = (RecurrentBody.subword_vectors, RecurrentBody.embedded_once)
    arms = {
        "before": (gathered_mean, embedded_twice),
        "embedding_bag only": (now[0], embedded_twice),
        "now": now,
    }
    seconds: dict[str, list[float]] = {name: [] for name in arms}
    print(f"# {data}, {args.epochs} epochs, defaults (fast preset), {torch.get_num_threads()} threads")
    try:
        for _ in range(args.rounds):
            for name, (subword_vectors, embedded_once) in arms.items():
                RecurrentBody.subword_vectors, RecurrentBody.embedded_once = subword_vectors, embedded_once
                with tempfile.TemporaryDirectory() as out:
                    started = time.perf_counter()
                    rnnkit.train(data, out=out, quiet=True, epochs=args.epochs, seed=0)
                    seconds[name].append(time.perf_counter() - started)
                print(f"{name}: {seconds[name][-1]:.2f} s", flush=True)
    finally:
        RecurrentBody.subword_vectors, RecurrentBody.embedded_once = now
    before = statistics.median(seconds["before"])
    print("\n| arm | median seconds | time / before |\n|---|---:|---:|")
    for name, values in seconds.items():
        print(f"| {name} | {statistics.median(values):.2f} | {statistics.median(values) / before:.2f} |")


if __name__ == "__main__":
    main()
