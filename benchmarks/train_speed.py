"""One epoch of training, the lesson's way against rnnkit's, side by side in one process.

Both train the same model (embedding 128 -> bidirectional LSTM 128 -> max pooling over valid positions -> dropout
-> linear) with Adam, batch 64, on the same training texts, and are scored on the same validation cut (10%,
stratified, seed 0). Each run is timed from the file on disk to the validation score, so data loading is included.

* reference: a plain PyTorch loop written the way tutorials (and the lesson) teach it: a DataLoader over random
  batches whose collate function tokenises and pads each batch, `pack_padded_sequence(enforce_sorted=False)`.
* rnnkit: `rnnkit.train(...)` with the same hyperparameters (AdamW with no weight decay is Adam).

Runs alternate (reference, rnnkit, reference, ...) and the medians are reported.

Usage: python benchmarks/train_speed.py [--datasets sst2_glue,ag_news] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch
from recurrent import matmul_peak  # noqa: E402  (benchmarks/ is the working directory's sibling)
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils.data import DataLoader

import rnnkit
from rnnkit.data import read_examples, stratified_split
from rnnkit.data.bundled import ag_news_sample
from rnnkit.text import WordTokenizer

EMBED = HIDDEN = 128
BATCH = 64
LR = 2e-3
DROPOUT = 0.3
MIN_FREQ = 2


def lstm_train_flops_per_token() -> float:
    """Matrix-multiply FLOPs of the bidirectional LSTM per real token: forward 2*4H*(E+H) per direction, x3 with
    the backward pass."""
    return 3 * 2 * (2 * 4 * HIDDEN * (EMBED + HIDDEN))


class LessonNet(nn.Module):
    def __init__(self, vocab_size: int, classes: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, EMBED, padding_idx=0)
        self.lstm = nn.LSTM(EMBED, HIDDEN, bidirectional=True, batch_first=True)
        self.dropout = nn.Dropout(DROPOUT)
        self.out = nn.Linear(2 * HIDDEN, classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.embedding(ids))
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        outputs, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True)
        mask = torch.arange(outputs.shape[1])[None, :] < lengths[:, None]
        pooled = outputs.masked_fill(~mask[:, :, None], float("-inf")).amax(1)
        return self.out(self.dropout(pooled))


def reference_run(path: Path, seed: int) -> tuple[float, float, int]:
    """(seconds, validation accuracy, training tokens) for one epoch the lesson's way."""
    started = time.perf_counter()
    torch.manual_seed(seed)
    examples = read_examples(path)
    train_idx, valid_idx = stratified_split(examples.labels, 0.1, seed)
    labels = sorted(set(examples.labels))
    tokenize = WordTokenizer()
    counts = Counter(t for i in train_idx for t in tokenize(examples.texts[i]))
    index = {w: i + 2 for i, w in enumerate(w for w, n in counts.most_common() if n >= MIN_FREQ)}

    def collate(rows):
        encoded = [[index.get(t, 1) for t in tokenize(text)] or [1] for text, _ in rows]
        lengths = torch.tensor([len(e) for e in encoded])
        ids = torch.zeros(len(rows), int(lengths.max()), dtype=torch.long)
        for row, e in enumerate(encoded):
            ids[row, : len(e)] = torch.tensor(e)
        return ids, lengths, torch.tensor([labels.index(label) for _, label in rows])

    rows = [(examples.texts[i], examples.labels[i]) for i in train_idx]
    valid_rows = [(examples.texts[i], examples.labels[i]) for i in valid_idx]
    model = LessonNet(len(index) + 2, len(labels))
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    tokens = 0
    model.train()
    for ids, lengths, targets in DataLoader(rows, batch_size=BATCH, shuffle=True, collate_fn=collate):
        loss = nn.functional.cross_entropy(model(ids, lengths), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tokens += int(lengths.sum())
    model.eval()
    correct = 0
    with torch.no_grad():
        for ids, lengths, targets in DataLoader(valid_rows, batch_size=256, collate_fn=collate):
            correct += int((model(ids, lengths).argmax(1) == targets).sum())
    return time.perf_counter() - started, correct / len(valid_rows), tokens


def rnnkit_run(path: Path, seed: int) -> tuple[float, float, int]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        pipeline = rnnkit.train(
            path,
            epochs=1,
            batch_size=BATCH,
            lr=LR,
            schedule="constant",  # the reference keeps Adam's learning rate fixed
            ensemble=1,
            adversarial=0.0,  # the reference trains on the batch alone
            weight_decay=0.0,
            dropout=DROPOUT,
            pooling="max",
            hidden=HIDDEN,
            embedding_dim=EMBED,
            min_freq=MIN_FREQ,
            valid_split=0.1,
            seed=seed,
            out=out,
            quiet=True,
        )
    seconds = time.perf_counter() - started
    record = pipeline.training["members"][0]["history"][-1]
    tokens = round(record["tokens_per_second"] * record["seconds"])
    return seconds, record["valid_accuracy"], tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--datasets", default="sst2_glue,ag_news")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    paths = {"sst2_glue": args.shared / "datasets/sst2_glue/train.csv", "ag_news": ag_news_sample().train}
    peak = matmul_peak()
    print(
        f"# {platform.machine()}, {args.threads} threads, torch {torch.__version__}, float32 matmul peak "
        f"{peak:.0f} GFLOP/s; {args.repeats} alternating repeats, medians"
    )
    print(
        "| data set | method | seconds per epoch | training tokens/s | ratio | validation accuracy "
        "| recurrent GFLOP/s | of peak |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name in args.datasets.split(","):
        runs: dict[str, list[tuple[float, float, int]]] = {"reference": [], "rnnkit": []}
        for repeat in range(args.repeats):
            runs["reference"].append(reference_run(paths[name], repeat))
            runs["rnnkit"].append(rnnkit_run(paths[name], repeat))
        rates = {}
        for method, results in runs.items():
            seconds = statistics.median(r[0] for r in results)
            tokens = results[0][2]
            rates[method] = tokens / seconds
            accuracy = statistics.mean(r[1] for r in results)
            gflops = rates[method] * lstm_train_flops_per_token() / 1e9
            print(
                f"| {name} | {method} | {seconds:.1f} | {rates[method]:,.0f} | "
                f"{rates[method] / rates['reference']:.2f}x | {accuracy:.4f} | {gflops:.1f} | {gflops / peak:.0%} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
