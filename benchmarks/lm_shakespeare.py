"""Character language models on tinyshakespeare: rnnkit's default against a plain PyTorch loop, side by side.

Trains, one after the other in this process and under the same time budget, (1) ``rnnkit.train(train.txt,
task="lm", valid=valid.txt, max_minutes=M)`` with the default settings, and (2) a plain loop written the way
PyTorch's word-language-model example writes it (``nn.Embedding`` -> ``nn.LSTM`` 2 x 512, dropout 0.2 ->
``nn.Linear``; AdamW at 2e-3, windows of 128, batch 64, the state carried and detached, no schedule), scoring each on
all of valid.txt after every epoch (and at the end of the budget). Prints validation loss (nats per character)
against minutes, then the training speed of both loops measured side by side (medians of alternating short runs,
the same network sizes), generation speed on onnxruntime and torch, and three samples.

Usage: python benchmarks/lm_shakespeare.py [--minutes 10] [--seed 0] [--shared ../shared] [--skip-plain]
       python benchmarks/lm_shakespeare.py --speed-only
       python benchmarks/lm_shakespeare.py --plot curves.png --logs run1.log run2.log  (outputs of earlier runs)
       python benchmarks/lm_shakespeare.py --generation-only runs/train  (a model trained by: rnnkit train
           ../shared/datasets/tinyshakespeare/train.txt --task lm --valid ../shared/datasets/tinyshakespeare/valid.txt)
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

import rnnkit
from rnnkit.data.corpus import batchify, corpus_tokens, read_corpus, windows
from rnnkit.tasks import build as build_model
from rnnkit.tasks.lm.config import LanguageModelConfig
from rnnkit.tasks.lm.objective import LanguageModelTask, validation_loss
from rnnkit.text import CharTokenizer, Vocab
from rnnkit.training import TrainConfig, train_step
from rnnkit.training.trainer import seed_everything

HIDDEN, LAYERS, EMBED, WINDOW, BATCH, LR, DROPOUT = 512, 2, 128, 128, 64, 2e-3, 0.2


class PlainLSTM(nn.Module):
    """The PyTorch word-language-model example's RNNModel, LSTM, untied."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.drop = nn.Dropout(DROPOUT)
        self.encoder = nn.Embedding(vocab, EMBED)
        self.rnn = nn.LSTM(EMBED, HIDDEN, LAYERS, dropout=DROPOUT, batch_first=True)
        self.decoder = nn.Linear(HIDDEN, vocab)

    def forward(self, ids, state=None):
        output, state = self.rnn(self.drop(self.encoder(ids)), state)
        return self.decoder(self.drop(output)), state


def read_split(shared: Path) -> tuple[torch.Tensor, torch.Tensor, Vocab]:
    root = shared / "datasets/tinyshakespeare"
    tokenizer = CharTokenizer(lowercase=False, keep_whitespace=True)
    train, valid = (corpus_tokens(read_corpus(root / name), tokenizer) for name in ("train.txt", "valid.txt"))
    vocab = Vocab.build([train])
    return torch.tensor(vocab.encode(train)), torch.tensor(vocab.encode(valid)), vocab


def plain_loop(train: torch.Tensor, valid: torch.Tensor, vocab: Vocab, minutes: float, seed: int) -> list[dict]:
    """The plain loop, scored on the whole validation text after each epoch and at the end of the budget."""
    torch.manual_seed(seed)
    model = PlainLSTM(len(vocab))
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR)
    streams = batchify(train, BATCH)
    points, trained, epoch = [], 0.0, 0  # minutes of training, validation not counted (as for rnnkit's)
    while trained < minutes:
        epoch += 1
        model.train()
        state, started = None, time.perf_counter()
        for inputs, targets in windows(streams, WINDOW):
            logits, state = model(inputs, state)
            state = tuple(s.detach() for s in state)
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if trained + (time.perf_counter() - started) / 60 > minutes:
                break
        trained += (time.perf_counter() - started) / 60
        loss = validation_loss(model, valid, WINDOW)  # the plain network scored exactly as rnnkit scores its own
        points.append({"epoch": epoch, "minutes": trained, "valid_loss": loss})
        print(json.dumps({"plain": points[-1]}), flush=True)
    return points


def rnnkit_run(shared: Path, minutes: float, seed: int, out: Path, overrides: dict) -> tuple[list[dict], object]:
    root = shared / "datasets/tinyshakespeare"
    started = time.perf_counter()
    points: list[dict] = []
    lm = rnnkit.train(
        root / "train.txt",
        task="lm",
        valid=str(root / "valid.txt"),
        max_minutes=minutes,
        seed=seed,
        out=str(out),
        **overrides,
    )
    for record in lm.training["members"][0]["history"]:
        elapsed = sum(r["seconds"] for r in lm.training["members"][0]["history"][: record["epoch"]]) / 60
        points.append({"epoch": record["epoch"], "minutes": elapsed, "valid_loss": record["valid_loss"]})
    print(json.dumps({"rnnkit": points, "wall_minutes": (time.perf_counter() - started) / 60}), flush=True)
    return points, lm


def speed(train: torch.Tensor, vocab: Vocab, rounds: int = 5, steps: int = 8) -> dict[str, float]:
    """Tokens per second of rnnkit's training step and of the plain loop's, same sizes, alternating, medians."""
    config = LanguageModelConfig(
        vocab_size=len(vocab),
        embedding_dim=EMBED,
        hidden_size=HIDDEN,
        num_layers=LAYERS,
        dropout=DROPOUT,
        tie_weights=False,
    )
    seed_everything(0)
    ours = build_model(config)
    task = LanguageModelTask(train, None, BATCH, WINDOW, True)
    loop = TrainConfig(lr=LR)
    ours_opt = torch.optim.AdamW(ours.parameters(), lr=LR, fused=True)
    plain = PlainLSTM(len(vocab))
    plain_opt = torch.optim.AdamW(plain.parameters(), lr=LR)
    batches = list(task.batches(1))[: steps * rounds * 2]
    rates: dict[str, list[float]] = {"rnnkit": [], "plain": []}
    parameters = list(ours.parameters())
    state = None
    for r in range(rounds):
        chunk = batches[r * steps : (r + 1) * steps]
        started = time.perf_counter()
        for batch in chunk:
            train_step(ours, task, batch, ours_opt, parameters, loop)
        rates["rnnkit"].append(steps * BATCH * WINDOW / (time.perf_counter() - started))
        started = time.perf_counter()
        for batch in chunk:
            logits, state = plain(batch.ids, state)
            state = tuple(s.detach() for s in state)
            loss = F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten())
            plain_opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(plain.parameters(), 1.0)
            plain_opt.step()
        rates["plain"].append(steps * BATCH * WINDOW / (time.perf_counter() - started))
    result = {name: statistics.median(values) for name, values in rates.items()}
    result["ratio"] = result["rnnkit"] / result["plain"]
    # FLOPs of the recurrent part per token, forward + backward (3x forward): 2 * 4H * (in + H) per layer.
    flops = 3 * sum(2 * 4 * HIDDEN * ((EMBED if layer == 0 else HIDDEN) + HIDDEN) for layer in range(LAYERS))
    result["recurrent_gflops"] = result["rnnkit"] * flops / 1e9
    return result


def generation_speed(run_dir: Path) -> dict[str, float]:
    from rnnkit.loading import load_onnx

    figures = {}
    for engine in ("onnxruntime", "torch"):
        started = time.perf_counter()
        lm = load_onnx(run_dir) if engine == "onnxruntime" else rnnkit.load(run_dir, engine="torch")
        stream = lm.stream("ROMEO:", length=500, temperature=0.8, seed=0)
        next(stream)
        first = time.perf_counter() - started
        begun = time.perf_counter()
        count = 1 + sum(1 for _ in stream)
        figures[f"{engine}_first_token_s"] = first
        figures[f"{engine}_tokens_per_s"] = (count - 1) / (time.perf_counter() - begun)
    return figures


def cli_first_token(run_dir: Path, rounds: int = 5) -> dict[str, float]:
    """Seconds from starting ``rnnkit generate`` (a new process) to its first character, on onnxruntime and on torch
    (onnxruntime hidden), medians of ``rounds``."""
    import subprocess
    import sys

    run = "import sys; sys.argv = ['rnnkit', *sys.argv[1:]]; from rnnkit.cli import main; main()"
    hide = "import sys; sys.modules['onnxruntime'] = None; "
    figures = {}
    for engine, code in (("onnxruntime", run), ("torch", hide + run)):
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-c", code, "generate", str(run_dir), "--prompt", "ROMEO:", "--length", "50"],
                stdout=subprocess.PIPE,
            )
            process.stdout.read(len("ROMEO:") + 1)  # the prompt is echoed first; then the first new character
            times.append(time.perf_counter() - started)
            process.wait()
        figures[f"cli_{engine}_first_token_s"] = statistics.median(times)
    return figures


def plot_curves(curves: dict[str, list[dict]], path: Path) -> None:
    """Validation loss against minutes of training, one line per run (needs matplotlib: pip install 'rnnkit[bench]')."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=120)
    for name, points in curves.items():
        axes.plot([p["minutes"] for p in points], [p["valid_loss"] for p in points], marker="o", label=name)
    axes.axhline(1.45, color="grey", linestyle=":", linewidth=1, label="target 1.45")
    axes.set(xlabel="minutes of training (2-core CPU)", ylabel="validation loss (nats per character)")
    axes.set_title("tinyshakespeare, character LSTM 2 x 512")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)


def curves_from_logs(logs: list[Path]) -> dict[str, list[dict]]:
    """The runs printed by this script (its JSON lines), named by the log they came from."""
    curves = {}
    for log in logs:
        for line in log.read_text().splitlines():
            if line.startswith('{"rnnkit": ['):
                record = json.loads(line)
                curves[f"rnnkit ({log.stem})"] = record["rnnkit"]
                if "plain" in record:
                    curves["plain PyTorch loop"] = record["plain"]
    return curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument("--out", type=Path, help="keep rnnkit's run directory here [default: a temporary one]")
    parser.add_argument("--set", action="append", default=[], help="an rnnkit option, NAME=VALUE (repeatable)")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--generation-only", type=Path, help="a trained run directory: time generation only")
    parser.add_argument("--plot", type=Path, help="write the loss curves of the logs given with --logs to this PNG")
    parser.add_argument("--logs", type=Path, nargs="*", default=[], help="earlier outputs of this script, to plot")
    args = parser.parse_args()
    if args.plot:
        plot_curves(curves_from_logs(args.logs), args.plot)
        return
    if args.generation_only:
        print(
            json.dumps({"generation": generation_speed(args.generation_only) | cli_first_token(args.generation_only)})
        )
        return
    train, valid, vocab = read_split(args.shared)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    print(json.dumps({"training_speed": speed(train, vocab)}), flush=True)
    if args.speed_only:
        return
    overrides = {name: json.loads(value) for name, value in (item.split("=", 1) for item in args.set)}
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "shakespeare"
        ours, lm = rnnkit_run(args.shared, args.minutes, args.seed, out, overrides)
        print(json.dumps({"generation": generation_speed(out) | cli_first_token(out)}), flush=True)
        for i in range(3):
            sample = lm.generate("ROMEO:", length=300, temperature=0.8, seed=i)
            print(f"--- sample {i + 1} (seed {i}):\n{sample}\n", flush=True)
        if not args.skip_plain:
            plain = plain_loop(train, valid, vocab, args.minutes, args.seed)
            print(json.dumps({"rnnkit": ours, "plain": plain}), flush=True)


if __name__ == "__main__":
    main()
