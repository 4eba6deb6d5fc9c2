"""Training-step speed of rnnkit's Recurrent against the usual exact method, on real sentence lengths.

One process, alternating runs, medians. Every variant trains the same network (128-dimensional inputs, as from an
embedding of 128 -> bidirectional LSTM or GRU, hidden 128 -> max pooling over valid positions -> linear) with Adam on
batches of 64 whose lengths are the real token lengths of SST-2 (GLUE) training phrases. The embedding table itself
is left out: its gradient and update cost the same in every variant and would only blur the comparison of the
recurrent part.

* fused:     rnnkit.nn.Recurrent(backend="fused") on length-bucketed batches (exact)
* packed:    torch.nn.LSTM/GRU on pack_padded_sequence, the same bucketed batches (exact)
* packed-random: the same on random batches, as tutorials (and the lesson) batch (exact, the usual method)
* explicit:  rnnkit.nn.Recurrent(backend="explicit") on the bucketed batches (exact, the readable cells)
* unmasked:  torch.nn.LSTM/GRU on random, padded batches, no lengths at all (fast but wrong: padding leaks)

Usage: python benchmarks/recurrent.py [--data ../shared/datasets/sst2_glue/train.csv] [--batches 60] [--repeats 5]
"""

from __future__ import annotations

import argparse
import csv
import platform
import re
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.data import BucketBatchSampler
from rnnkit.nn import Pooling, Recurrent

TOKEN = re.compile(r"\w+|[^\w\s]")
HIDDEN = EMBED = 128
BATCH = 64


def real_lengths(path: Path) -> np.ndarray:
    with path.open(encoding="utf-8") as f:
        return np.array([max(1, len(TOKEN.findall(row["text"]))) for row in csv.DictReader(f)])


def matmul_peak(seconds: float = 1.0, n: int = 2048) -> float:
    """Float32 GFLOP/s of a large square matrix product, best of a few runs, by the fastest library here.

    torch's BLAS (MKL) runs AVX2 code on AMD processors, so on an AVX-512 machine it reaches about half of what the
    hardware does; onnxruntime's MLAS uses AVX-512 (on this project's Zen 5 machine: 214 against 450 GFLOP/s).
    The peak is the faster of the two, so that a share of it is a share of what the machine can do.
    """
    a, b = torch.randn(n, n), torch.randn(n, n)
    runs = {"torch": lambda: a @ b}
    try:
        import onnxruntime
        from onnx import TensorProto, helper

        square = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [n, n]) for name in "abc"]
        graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul", square[:2], square[2:])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        inputs = {"a": a.numpy(), "b": b.numpy()}
        runs["onnxruntime"] = lambda: session.run(None, inputs)
    except ImportError:
        pass
    best = 0.0
    for run in runs.values():
        run()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            start = time.perf_counter()
            run()
            best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def train_flops_per_token(cell: str) -> float:
    """Matrix-multiply FLOPs per real token of one training step, both directions: forward 2*G*H*(E+H) per
    direction, backward twice that."""
    gates = {"lstm": 4, "gru": 3}[cell]
    return 3 * 2 * (2 * gates * HIDDEN * (EMBED + HIDDEN))


class Net(nn.Module):
    def __init__(self, cell: str, method: str) -> None:
        super().__init__()
        self.method = method
        if method in ("fused", "explicit"):
            self.rnn = Recurrent(cell, EMBED, HIDDEN, bidirectional=True, backend=method)
        else:
            self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell](EMBED, HIDDEN, bidirectional=True, batch_first=True)
        self.pool = Pooling("max", 2 * HIDDEN, bidirectional=True)
        self.out = nn.Linear(2 * HIDDEN, 2)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.method in ("fused", "explicit"):
            outputs, _ = self.rnn(x, lengths)
        elif self.method == "packed":
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            outputs, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=x.shape[1])
        else:  # unmasked: padding runs through the network and into the pooling
            outputs, _ = self.rnn(x)
            lengths = torch.full_like(lengths, x.shape[1])
        return self.out(self.pool(outputs, lengths))


def make_batches(lengths: np.ndarray, count: int, bucketed: bool, seed: int = 0) -> list[tuple]:
    rng = np.random.default_rng(seed)
    if bucketed:
        indices = list(BucketBatchSampler(torch.as_tensor(lengths), BATCH, seed=seed))
    else:
        order = rng.permutation(len(lengths))
        indices = [order[i : i + BATCH] for i in range(0, len(order) - BATCH + 1, BATCH)]
    batches = []
    for index in indices[:count]:
        lens = torch.as_tensor(lengths[index])
        x = torch.randn(len(index), int(lens.max()), EMBED)
        x[torch.arange(x.shape[1])[None, :] >= lens[:, None]] = 0  # padding, as an embedding of <pad> gives
        batches.append((x, lens, torch.randint(0, 2, (len(index),))))
    return batches


def time_epoch(net: nn.Module, optimizer, batches) -> float:
    start = time.perf_counter()
    for x, lens, labels in batches:
        loss = nn.functional.cross_entropy(net(x, lens), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_data = Path(__file__).resolve().parents[2] / "shared/datasets/sst2_glue/train.csv"
    parser.add_argument("--data", type=Path, default=default_data)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    lengths = real_lengths(args.data)
    bucketed = make_batches(lengths, args.batches, bucketed=True)
    random = make_batches(lengths, args.batches, bucketed=False)
    peak = matmul_peak()
    print(f"# {platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}")
    print(
        f"# {len(lengths)} phrases, mean length {lengths.mean():.1f}, max {lengths.max()}; "
        f"{args.batches} batches of {BATCH}, {args.repeats} repeats; float32 matmul peak {peak:.0f} GFLOP/s"
    )
    real_tokens = {
        name: sum(int(b[1].sum()) for b in batches) for name, batches in (("bucketed", bucketed), ("random", random))
    }
    padded_tokens = {
        name: sum(b[0].shape[0] * b[0].shape[1] for b in batches)
        for name, batches in (("bucketed", bucketed), ("random", random))
    }
    print(
        f"# padding: bucketed batches {padded_tokens['bucketed'] / real_tokens['bucketed'] - 1:.0%} extra, "
        f"random {padded_tokens['random'] / real_tokens['random'] - 1:.0%} extra"
    )

    methods = [
        ("fused", bucketed),
        ("packed", bucketed),
        ("packed-random", random),
        ("explicit", bucketed),
        ("unmasked", random),
    ]
    for cell in ("lstm", "gru"):
        nets = {m: Net(cell, m.removesuffix("-random")) for m, _ in methods}
        state = nets["fused"].state_dict()
        for net in nets.values():
            net.load_state_dict(state)
        optimizers = {m: torch.optim.Adam(net.parameters(), lr=1e-3) for m, net in nets.items()}
        times: dict[str, list[float]] = {m: [] for m, _ in methods}
        for name, batches in methods:  # warm-up
            time_epoch(nets[name], optimizers[name], batches[:3])
        for _ in range(args.repeats):
            for name, batches in methods:
                times[name].append(time_epoch(nets[name], optimizers[name], batches))
        print(f"\n{cell.upper()} (bidirectional, hidden {HIDDEN}, embedding {EMBED}, batch {BATCH})")
        print(f"{'method':<14} {'batches':<9} {'tokens/s':>10} {'vs packed':>10} {'GFLOP/s':>8} {'of peak':>8}")
        kinds = {name: "bucketed" if batches is bucketed else "random" for name, batches in methods}
        rates = {name: real_tokens[kinds[name]] / statistics.median(times[name]) for name, _ in methods}
        for name, _ in methods:
            gflops = rates[name] * train_flops_per_token(cell) / 1e9
            print(
                f"{name:<14} {kinds[name]:<9} {rates[name]:>10,.0f} {rates[name] / rates['packed']:>9.2f}x"
                f" {gflops:>8.1f} {gflops / peak:>8.0%}"
            )
        print(
            f"fused / packed = {rates['fused'] / rates['packed']:.2f}x (target >= 2); "
            f"fused / packed-random = {rates['fused'] / rates['packed-random']:.2f}x; "
            f"explicit / fused = {rates['fused'] / rates['explicit']:.2f}x slower (target <= 3)"
        )


if __name__ == "__main__":
    main()
