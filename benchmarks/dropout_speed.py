"""How much the cheaper dropout mask speeds up training: ``torch.nn.Dropout`` against ``rnnkit.nn.Dropout``.

``torch.nn.Dropout`` draws its mask with ``bernoulli_``, about 9 ns an element on this CPU (7% of a training step
in ``benchmarks/profile_train.py``); rnnkit's ``Dropout`` draws ``rand_like(x) >= p``, the same distribution, about
2.8x faster. This trains the default network on 300 length-bucketed batches of 64 SST-2 GLUE phrases (the bundled
AG News sample without ../shared) with each kind of dropout, alternating, 4 rounds, and prints the median tokens/s.
The two draw different random numbers, so they train different (equally distributed) networks.

Usage: python benchmarks/dropout_speed.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from profile_train import training_task  # benchmarks/ is the script's directory
from torch import nn

from rnnkit.tasks import build as build_model
from rnnkit.training import TrainConfig, train_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    task, config = training_task(args.shared, 64)
    batches = list(task.batches(1))[:300]

    def tokens_per_second(mask_dropout: bool) -> float:
        torch.manual_seed(0)
        model = build_model(config)
        if not mask_dropout:
            model.dropout = nn.Dropout(config.dropout)
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, fused=True)
        parameters, plain = list(model.parameters()), TrainConfig(adversarial=0.0)
        tokens, started = 0, time.perf_counter()
        for batch in batches:
            tokens += train_step(model, task, batch, optimizer, parameters, plain).tokens
        return tokens / (time.perf_counter() - started)

    rates: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.rounds):
        for mask_dropout in (False, True):
            rates[mask_dropout].append(tokens_per_second(mask_dropout))
    torch_rate, mask_rate = statistics.median(rates[False]), statistics.median(rates[True])
    print(
        f"{torch.get_num_threads()} threads: torch.nn.Dropout {torch_rate:,.0f} tokens/s; "
        f"rnnkit.nn.Dropout {mask_rate:,.0f} tokens/s; {mask_rate / torch_rate:.3f}x"
    )


if __name__ == "__main__":
    main()
