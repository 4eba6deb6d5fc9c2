"""Tuning the translation defaults on the validation split, with budgets of target tokens instead of wall time.

The machine is shared, so a run is given a number of training steps (``--tokens`` target tokens at the batch size's
mean), not minutes; the learning rate warms up and decays to zero over exactly those steps, as a time budget's run
would over its minutes. Each run appends one row to ``benchmarks/logs/translate_tuning.md``: the settings that differ
from the defaults, the budget, the seconds and target tokens per second it took (noisy: the load average is logged
beside), and the validation figures (valid.tsv only: test.tsv is never read here).

    python benchmarks/translate_tune.py --tokens 1500000 pieces=8000 attention=bahdanau
    python benchmarks/translate_tune.py --tokens 300000 --epochs 4 valid_score=loss   # per-epoch validation

The settings are ``rnnkit train --task translate``'s options (underscores for dashes); rows logged before they were
(``benchmarks/logs/translate_tuning.md``'s first rounds) name them as the first version of the task did:
``subwords`` for ``pieces``, ``alpha`` for ``length_penalty``, ``decoder_hidden_size`` for ``decoder_hidden``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

import torch

from rnnkit.options import TrainOptions, all_options
from rnnkit.tasks.translate.data import read_pairs, split_pairs
from rnnkit.tasks.translate.network import TranslationNetwork
from rnnkit.tasks.translate.objective import StepBudget, TranslateTask, Validation, encode_pairs
from rnnkit.tasks.translate.pipeline import TranslatorPipeline
from rnnkit.tasks.translate.train import WARMUP, learn_pieces, network_settings, training_precision
from rnnkit.training.run import loop_config
from rnnkit.training.run import settings as recorded
from rnnkit.training.trainer import seed_everything, train_loop

DATA = Path("../shared/datasets/tatoeba_eng_fra/split")
LOG = Path("benchmarks/logs/translate_tuning.md")


def cpu_model() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("settings", nargs="*", help="name=value options of rnnkit train --task translate")
    parser.add_argument("--tokens", type=float, default=1.5e6, help="target tokens to train on, per epoch")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--beams", default="1,5", help="beams to score validation with at the end")
    parser.add_argument("--note", default="")
    parser.add_argument("--save", help="a directory to save the trained translator in")
    parser.add_argument(
        "--select",
        action="store_true",
        help="validate each epoch on one half of valid.tsv and score the epochs that BLEU and the loss pick on the "
        "other half (beam 5)",
    )
    parser.add_argument("--train-pairs", type=int, default=0, help="train on the first N pairs of a seeded shuffle")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    known = set(all_options())
    overrides = {}
    for item in args.settings:
        name, _, value = item.partition("=")
        if name not in known:
            sys.exit(f"unknown setting {name!r}")
        try:
            overrides[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[name] = value
    s = TrainOptions(task="translate", **overrides).resolve()
    defaults = TrainOptions(task="translate").resolve().to_dict()
    started = time.time()
    train, valid = read_pairs(DATA / "train.tsv"), read_pairs(DATA / "valid.tsv")
    if args.train_pairs:
        train = train.subset(sorted(random.Random(0).sample(range(len(train)), args.train_pairs)))
    held_out = None
    if args.select:
        valid, held_out = split_pairs(valid, 0.5, 0)  # no sentence on both sides
    source_pieces, target_pieces = learn_pieces(train, s)
    encoded = encode_pairs(train, source_pieces, target_pieces, s.max_length)
    validation = Validation.of(valid, encode_pairs(valid, source_pieces, target_pieces), source_pieces, target_pieces)
    mean_tokens = encoded.target_tokens / len(encoded)
    steps = round(args.tokens / (s.batch_size * mean_tokens))
    config = network_settings(s, source_pieces, target_pieces)
    seed_everything(s.seed)
    network = TranslationNetwork(config)
    precision = training_precision(s.precision, "cpu")
    inner = TranslateTask(
        encoded, validation, s.batch_size, s.seed, s.label_smoothing, s.valid_score, precision=precision
    )
    task = StepBudget(inner, steps)
    # the loop as a run of rnnkit train takes it (rnnkit.tasks.translate.train), with the budget's steps as epochs
    loop = loop_config(
        s, epochs=args.epochs, warmup=WARMUP, adversarial=0.0, label_smoothing=0.0, patience=99, max_minutes=None
    )
    prepared = time.time() - started
    load = os.getloadavg()[0]
    snapshots = []

    def snapshot(record: dict) -> None:
        snapshots.append({k: v.detach().clone() for k, v in network.state_dict().items()})

    result = train_loop(network, task, loop, progress=sys.stderr.isatty(), on_epoch_end=snapshot)
    seconds = sum(r["seconds"] for r in result.history)
    rates = [r["tokens_per_second"] for r in result.history]
    training = {"options": recorded(s)}
    translator = TranslatorPipeline(network, source_pieces, target_pieces, config, training, engine="torch")
    scored = {}
    for beam in [int(b) for b in args.beams.split(",") if b]:
        t = time.time()
        report = translator.evaluate(valid, beam=beam)
        scored[beam] = (report["bleu"], report["chrf"], time.time() - t)
    selected = None
    if held_out is not None:
        kept = {k: v.clone() for k, v in network.state_dict().items()}
        picks = {
            "by_bleu": max(range(len(result.history)), key=lambda i: result.history[i]["valid_bleu"]),
            "by_loss": min(range(len(result.history)), key=lambda i: result.history[i]["valid_loss"]),
            "last": len(result.history) - 1,
        }
        selected = {}
        for name, index in picks.items():
            network.load_state_dict(snapshots[index])
            report = translator.evaluate(held_out, beam=5)
            selected[name] = {"epoch": index + 1, "held_out_bleu": round(report["bleu"], 2)}
        network.load_state_dict(kept)
    history = [
        {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items() if k.startswith("valid_") or k == "epoch"}
        for r in result.history
    ]
    row = {
        "settings": {k: v for k, v in s.to_dict().items() if defaults[k] != v},
        "epochs": args.epochs,
        "steps_per_epoch": steps,
        "target_tokens": round(args.tokens * args.epochs),
        "pieces": [len(source_pieces), len(target_pieces)],
        "weights": sum(p.numel() for p in network.parameters()),
        "train_s": round(seconds),
        "prep_s": round(prepared),
        "tok_s": round(sum(rates) / len(rates)),
        "threads": args.threads,
        "precision": precision,
        "load": round(load, 1),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "valid": {
            f"beam{b}": {"bleu": round(v[0], 2), "chrf": round(v[1], 2), "s": round(v[2], 1)} for b, v in scored.items()
        },
        "best_epoch": result.best_epoch,
        "history": history if args.epochs > 1 else None,
        "train_pairs": len(train),
        "select": selected,
        "note": args.note,
    }
    print(json.dumps(row))
    if args.save:
        translator.training["tuning"] = row
        translator.save(args.save, overwrite=True)
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with LOG.open("a", encoding="utf-8") as f:
        f.write(f"- `{time.strftime('%Y-%m-%d %H:%M')}` `{json.dumps(row, ensure_ascii=False)}`\n")


if __name__ == "__main__":
    main()
