"""Where a training step of the default network spends its time: the top of ``torch.profiler``'s table.

Runs the steps of ``rnnkit.training.fit`` (collate, forward, loss, backward, clipping, fused AdamW) by hand on
length-bucketed batches of SST-2 GLUE training phrases (or the bundled AG News sample without ../shared), first
unprofiled to warm up, then profiled, and prints the operators ranked by their own CPU time.

Usage: python benchmarks/profile_train.py [--batches 200] [--batch-size 64] [--rows 15]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from torch.profiler import ProfilerActivity, profile

from rnnkit.data import BucketBatchSampler, EncodedTexts, collate, encode_texts, read_examples
from rnnkit.data.bundled import ag_news_sample
from rnnkit.models import ClassifierConfig, build_model
from rnnkit.text import Vocab, WordTokenizer
from rnnkit.training.trainer import clip_gradients


def training_batches(shared: Path, batch_size: int) -> tuple[EncodedTexts, ClassifierConfig, list[list[int]]]:
    """SST-2 GLUE's training phrases (the AG News sample without ../shared), encoded as rnnkit trains them, the
    default network's settings for them, and their length-bucketed batches (seed 0)."""
    glue = shared / "datasets/sst2_glue/train.csv"
    examples = read_examples(glue if glue.exists() else ag_news_sample().train)
    labels = sorted(set(examples.labels))
    tokenize = WordTokenizer()
    vocab = Vocab.build((tokenize(t) for t in examples.texts), min_freq=2)
    data = encode_texts(examples.texts, tokenize, vocab, 400, [labels.index(label) for label in examples.labels])
    config = ClassifierConfig(vocab_size=len(vocab), num_classes=len(labels), dropout=0.3)
    return data, config, list(BucketBatchSampler(data.lengths, batch_size, seed=0))


def training_step(model: nn.Module, optimizer: torch.optim.Optimizer, data: EncodedTexts, batch: list[int]) -> int:
    """One step as ``fit`` takes it (collate, loss, backward, clipping, update); returns the batch's tokens."""
    ids, lengths, targets = collate(data, batch)
    loss = F.cross_entropy(model(ids, lengths), targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    clip_gradients(list(model.parameters()), 1.0)
    optimizer.step()
    return int(lengths.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rows", type=int, default=15)
    args = parser.parse_args()
    data, config, batches = training_batches(args.shared, args.batch_size)
    torch.manual_seed(0)
    model = build_model(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, fused=True)
    warm_up = args.batches // 4
    for batch in batches[:warm_up]:
        training_step(model, optimizer, data, batch)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches[warm_up : warm_up + args.batches]:
            training_step(model, optimizer, data, batch)
    threads = torch.get_num_threads()
    print(f"# {args.batches} batches of {args.batch_size}, {threads} threads, torch {torch.__version__}")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
