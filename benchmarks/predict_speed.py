"""Prediction speed of a trained rnnkit model: batched throughput, single-text latency, command start-up.

Trains the default model on the bundled AG News sample once (or loads --model), then measures on 20,000 real
sentences (SST-2 GLUE training phrases, or the AG News texts when ../shared is absent):

* batched: sentences/s of ``Pipeline.predict`` over all of them, and the achieved GFLOP/s of the network's matrix
  products (recurrent layers, real tokens only) against this machine's float32 matrix-multiply peak;
* latency: ``Pipeline.predict([text])`` one text at a time, p50 and p99 over 2,000 texts;
* both with each engine (torch, and onnxruntime when installed), alternating in one process;
* start-up: wall time from starting ``rnnkit predict MODEL "text"`` to its answer, median of 5, with onnxruntime
  (no torch imported) and with onnxruntime hidden (torch).

With ``--fasttext`` (needs ``pip install fasttext``; a benchmark-only dependency) it trains fastText on the same
training texts (lower-cased, punctuation split, ``epoch=25, lr=0.5, wordNgrams=2, dim=100``) and times the same
sentences, so the ratio shows the price of word order.

Usage: python benchmarks/predict_speed.py [--model runs/ag_news_sample] [--ensemble 1] [--fasttext] [--threads 2]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from recurrent import matmul_peak

import rnnkit
from rnnkit.data import read_examples
from rnnkit.data.bundled import ag_news_sample
from rnnkit.runtime import onnxruntime_available
from rnnkit.text import WordTokenizer


def forward_flops_per_token(pipeline: rnnkit.Pipeline) -> float:
    """Matrix-multiply FLOPs per real token of the recurrent layers (the output layer runs once per text), summed
    over an ensemble's members."""
    c = pipeline.model_config
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[c.cell]
    directions = 2 if c.bidirectional else 1
    flops, inputs = 0.0, c.embedding_dim
    for _ in range(c.num_layers):
        flops += directions * 2 * gates * c.hidden_size * (inputs + c.hidden_size)
        inputs = directions * c.hidden_size
    return flops * c.members


def sentences(shared: Path, count: int) -> list[str]:
    glue = shared / "datasets/sst2_glue/train.csv"
    source = glue if glue.exists() else ag_news_sample().train
    texts = read_examples(source).texts
    return (texts * (count // len(texts) + 1))[:count]


def fasttext_side(train: Path, texts: list[str]) -> tuple[float, float]:
    """(sentences/s batched, p50 latency ms) of fastText trained on the same data."""
    import fasttext

    tokenize = WordTokenizer()
    examples = read_examples(train)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for text, label in zip(examples.texts, examples.labels, strict=True):
            f.write(f"__label__{label} {' '.join(tokenize(text))}\n")
    model = fasttext.train_supervised(f.name, epoch=25, lr=0.5, wordNgrams=2, dim=100, thread=1, verbose=0)
    prepared = [" ".join(tokenize(t)) for t in texts]
    start = time.perf_counter()
    model.predict(prepared)
    batched = len(texts) / (time.perf_counter() - start)
    latencies = []
    for text in texts[:2000]:
        start = time.perf_counter()
        model.f.predict(
            " ".join(tokenize(text)), 1, 0.0, "strict"
        )  # the binding: fastText 0.9.3's wrapper breaks on NumPy 2
        latencies.append(time.perf_counter() - start)
    return batched, 1000 * statistics.median(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--model", type=Path, help="a trained model directory (default: train one on AG News)")
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--fasttext", action="store_true")
    parser.add_argument("--ensemble", type=int, help="members of the trained model (default: rnnkit's default)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    workdir = tempfile.TemporaryDirectory()
    if args.model is None:
        args.model = Path(workdir.name) / "model"
        rnnkit.train(out=str(args.model), ensemble=args.ensemble, quiet=True)
    pipeline = rnnkit.load(args.model)
    texts = sentences(args.shared, args.count)
    peak = matmul_peak()
    print(
        f"# {platform.machine()}, {args.threads} threads, torch {torch.__version__}; model {pipeline}; "
        f"float32 matmul peak {peak:.0f} GFLOP/s"
    )

    tokens = int(pipeline.encode(texts).lengths.sum())
    engines = ["torch", "onnxruntime"] if onnxruntime_available() else ["torch"]
    batched: dict[str, list[float]] = {e: [] for e in engines}
    latencies: dict[str, list[float]] = {e: [] for e in engines}
    for engine in engines:  # warm-up
        pipeline.engine = engine
        pipeline.predict(texts[:500])
    for _ in range(3):  # the engines alternate, so a busy moment of the machine falls on both
        for engine in engines:
            pipeline.engine = engine
            start = time.perf_counter()
            pipeline.predict(texts)
            batched[engine].append(time.perf_counter() - start)
    for chunk in range(0, 2000, 200):
        for engine in engines:
            pipeline.engine = engine
            for text in texts[chunk : chunk + 200]:
                start = time.perf_counter()
                pipeline.predict([text])
                latencies[engine].append(time.perf_counter() - start)
    for engine in engines:
        seconds = statistics.median(batched[engine])
        gflops = tokens * forward_flops_per_token(pipeline) / seconds / 1e9
        p50, p99 = np.percentile(latencies[engine], [50, 99]) * 1000
        print(
            f"{engine}: batched {len(texts) / seconds:,.0f} sentences/s ({tokens / seconds:,.0f} tokens/s), "
            f"{gflops:.1f} GFLOP/s = {gflops / peak:.0%} of peak; single text p50 {p50:.2f} ms, p99 {p99:.2f} ms"
        )
    seconds = statistics.median(batched[engines[-1]])

    cli = "import sys; sys.argv[0] = 'rnnkit'; from rnnkit.cli import main; main()"
    commands = {"rnnkit predict": [sys.executable, "-c", cli]}
    if onnxruntime_available():
        hidden = f"import sys; sys.modules['onnxruntime'] = None; {cli}"
        commands["rnnkit predict without onnxruntime (torch)"] = [sys.executable, "-c", hidden]
    for name, command in commands.items():
        starts = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(
                [*command, "predict", str(args.model), "Stocks fell sharply"], check=True, capture_output=True
            )
            starts.append(time.perf_counter() - start)
        print(f"{name}, start to answer: {statistics.median(starts):.2f} s (median of 5)")

    if args.fasttext:
        rate, latency = fasttext_side(ag_news_sample().train, texts)
        print(
            f"fastText: {rate:,.0f} sentences/s batched ({rate / (len(texts) / seconds):.1f}x rnnkit), "
            f"p50 {latency:.3f} ms"
        )
    workdir.cleanup()


if __name__ == "__main__":
    main()
