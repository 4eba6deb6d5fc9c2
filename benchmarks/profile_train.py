"""Where a training step of the default network spends its time: the top of ``torch.profiler``'s table.

Runs ``rnnkit.training.train_step``, the step of the one training loop (forward, loss, backward, clipping, fused
AdamW), on the classification task's length-bucketed batches of SST-2 GLUE training phrases (or the bundled AG
News sample without ../shared), first unprofiled to warm up, then profiled, and prints the operators ranked by
their own CPU time.

Usage: python benchmarks/profile_train.py [--batches 200] [--batch-size 64] [--rows 15]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from rnnkit.data import encode_texts, read_examples
from rnnkit.data.bundled import ag_news_sample
from rnnkit.tasks import build as build_model
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.classify.objective import ClassifyTask
from rnnkit.text import Vocab, WordTokenizer
from rnnkit.training import TrainConfig, train_step


def training_task(shared: Path, batch_size: int) -> tuple[ClassifyTask, ClassifierConfig]:
    """SST-2 GLUE's training phrases (the AG News sample without ../shared), encoded as rnnkit trains them, as the
    classification task (length-bucketed batches, seed 0), and the default network's settings for them."""
    glue = shared / "datasets/sst2_glue/train.csv"
    examples = read_examples(glue if glue.exists() else ag_news_sample().train)
    labels = sorted(set(examples.labels))
    tokenize = WordTokenizer()
    vocab = Vocab.build((tokenize(t) for t in examples.texts), min_freq=2)
    data = encode_texts(examples.texts, tokenize, vocab, 400, [labels.index(label) for label in examples.labels])
    config = ClassifierConfig(vocab_size=len(vocab), num_classes=len(labels), dropout=0.3)
    return ClassifyTask(data, None, labels, batch_size, seed=0), config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rows", type=int, default=15)
    args = parser.parse_args()
    task, config = training_task(args.shared, args.batch_size)
    batches = list(task.batches(1))
    torch.manual_seed(0)
    model = build_model(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, fused=True)
    parameters, plain = list(model.parameters()), TrainConfig(adversarial=0.0)
    warm_up = args.batches // 4
    for batch in batches[:warm_up]:
        train_step(model, task, batch, optimizer, parameters, plain)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches[warm_up : warm_up + args.batches]:
            train_step(model, task, batch, optimizer, parameters, plain)
    threads = torch.get_num_threads()
    print(f"# {args.batches} batches of {args.batch_size}, {threads} threads, torch {torch.__version__}")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
