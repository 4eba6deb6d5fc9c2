"""Would dynamic int8 quantisation speed up prediction? Accuracy and sentences/s against the float model.

``torch.ao.quantization.quantize_dynamic`` quantises ``nn.LSTM`` and ``nn.Linear`` only, and its LSTM reads packed
sequences, not rnnkit's fused length plan. So a one-network model (``--ensemble 1``) is copied into an ``nn.LSTM``
with the same weights and three ways of predicting are compared: rnnkit's own fused float path, float on packed
sequences, and int8 on packed sequences. Accuracy on the bundled AG News test split; speed on the predict_speed.py
sentences (SST-2 GLUE phrases, or the AG News texts without ../shared), 3 alternating rounds, medians. Benchmark
only: rnnkit has no quantised path (measured slower, benchmarks/RESULTS.md).

Usage: python benchmarks/quantize_speed.py --model runs/ag_news_sample  (a model from rnnkit train --ensemble 1)
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from predict_speed import sentences
from torch import Tensor
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit
from rnnkit.data import EncodedTexts, read_class_names, read_examples
from rnnkit.data.bundled import ag_news_sample
from rnnkit.tasks.classify.objective import predict_logits

with warnings.catch_warnings():  # torch.ao.quantization announces its deprecation on import
    warnings.simplefilter("ignore", DeprecationWarning)
    from torch.ao.quantization import quantize_dynamic


class PackedClassifier(torch.nn.Module):
    """The model's embedding, pooling and output around an ``nn.LSTM`` run on packed sequences."""

    def __init__(self, model: torch.nn.Module, lstm: torch.nn.Module, output: torch.nn.Module) -> None:
        super().__init__()
        self.model, self.lstm, self.output = model, lstm, output

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        packed = pack_padded_sequence(self.model.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        outputs, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=ids.shape[1])
        return self.output(self.model.pooling(outputs, lengths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args()
    pipeline = rnnkit.load(args.model)
    c = pipeline.model_config
    if c.members != 1 or c.model != "rnn" or c.cell != "lstm" or c.num_layers != 1:
        raise SystemExit("quantize_speed.py takes a one-layer LSTM network trained with --ensemble 1")
    model = pipeline.model.eval()
    lstm = torch.nn.LSTM(c.embedding_dim, c.hidden_size, batch_first=True, bidirectional=c.bidirectional)
    lstm.load_state_dict(model.encoder.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        int8_lstm = quantize_dynamic(torch.nn.Sequential(lstm), {torch.nn.LSTM}, dtype=torch.qint8)[0]
        int8_output = quantize_dynamic(torch.nn.Sequential(model.output), {torch.nn.Linear}, dtype=torch.qint8)[0]
    ways: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
        "float, fused (rnnkit)": model,
        "float, packed": PackedClassifier(model, lstm, model.output).eval(),
        "int8, packed": PackedClassifier(model, int8_lstm, int8_output).eval(),
    }

    bundled = ag_news_sample()
    test = read_examples(bundled.test, label_names=read_class_names(bundled.classes))
    test_data = pipeline.encode(test.texts)
    truth = torch.tensor(pipeline.label_indices(test.labels))
    texts: EncodedTexts = pipeline.encode(sentences(args.shared, args.count))
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(3):
        for name, way in ways.items():
            started = time.perf_counter()
            predict_logits(way, texts)
            seconds[name].append(time.perf_counter() - started)
    print(f"# {torch.get_num_threads()} threads, torch {torch.__version__}, {args.count} sentences")
    print("| prediction | AG News test accuracy | sentences/s |")
    print("|---|---:|---:|")
    for name, way in ways.items():
        accuracy = float((predict_logits(way, test_data).argmax(1) == truth).float().mean()) * 100
        print(f"| {name} | {accuracy:.2f} | {args.count / statistics.median(seconds[name]):,.0f} |")


if __name__ == "__main__":
    main()
