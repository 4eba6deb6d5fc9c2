"""English -> French on Tatoeba: rnnkit's translator against the PyTorch tutorial's network, with the same time.

The tutorial is "NLP From Scratch: Translation with a Sequence to Sequence Network and Attention" (pytorch.org
tutorials, ``intermediate/seq2seq_translation_tutorial``): a GRU encoder (embedding and hidden 128, dropout 0.1), a
GRU decoder with Bahdanau attention whose context joins the embedded previous word, a linear layer and a softmax
over the French words, Adam at 1e-3, teacher forcing, greedy decoding. It is written here as a competent user would
batch it, on the same training pairs: batches of 32 pairs of similar source lengths in random order, the encoder
over packed sequences (padding never read), attention masked on padding, the loss on real words only, the
memory-only half of the attention (``U_a k``) computed once per batch instead of at every step. Words are the
text split on spaces with punctuation split off its ends (case and accents kept, unlike the tutorial's
normalisation, which would cost it every accent of every reference), every training word in the vocabulary.

rnnkit's arm is ``rnnkit.train(..., task="translate", max_minutes=...)`` with its defaults, validated on
``valid.tsv``, translating with its default beam search.

Both arms train in this one process, one after the other, with the same number of threads and the same minutes of
training (evaluation not counted), and are scored on ``test.tsv`` with sacreBLEU (cased, 13a, every translation of
a source a reference). The tutorial's network is scored at every ``--every`` minutes of its training (its learning
rate is constant, so a mark is what a run of that length would give); rnnkit's decays its learning rate to zero
over its epochs, so each of its budgets is a run of its own.

    python benchmarks/translate_tatoeba.py                      # both arms, 10 minutes each
    python benchmarks/translate_tatoeba.py --minutes 5 --arms tutorial --every 1
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit
from rnnkit.loading import load_onnx
from rnnkit.tasks.translate.data import group_references, read_pairs
from rnnkit.tasks.translate.scoring import translation_scores

DATA = Path("../shared/datasets/tatoeba_eng_fra/split")
PAD, BOS, EOS, UNK = 0, 1, 2, 3
EDGE = re.compile(r"^([«\"(¿¡]*)(.*?)([.,!?;:»\")…]*)$")


# ------------------------------------------------------------------------------------------- the tutorial's arm
def words(text: str) -> list[str]:
    """Space-separated words with the punctuation at their ends split off: ``Va !`` -> ``Va !``, ``Bonjour.`` ->
    ``Bonjour .``; ``C'est`` and ``peut-être`` stay whole, as sacreBLEU's 13a tokenizer leaves them."""
    out: list[str] = []
    for word in text.split():
        before, core, after = EDGE.match(word).groups()
        out += list(before) + ([core] if core else []) + list(after)
    return out


class Words:
    def __init__(self, texts: list[str]) -> None:
        counts = Counter(w for t in texts for w in words(t))
        self.words = ["<pad>", "<s>", "</s>", "<unk>", *sorted(counts, key=lambda w: (-counts[w], w))]
        self.index = {w: i for i, w in enumerate(self.words)}

    def encode(self, text: str) -> list[int]:
        return [self.index.get(w, UNK) for w in words(text)]


class EncoderRNN(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.embedding = nn.Embedding(input_size, hidden_size, padding_idx=PAD)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor):
        packed = pack_padded_sequence(self.dropout(self.embedding(ids)), lengths, True, enforce_sorted=False)
        output, hidden = self.gru(packed)
        output, _ = pad_packed_sequence(output, batch_first=True, total_length=ids.shape[1])
        return output, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, projected_keys, keys, mask):
        scores = self.Va(torch.tanh(self.Wa(query) + projected_keys)).squeeze(2).unsqueeze(1)  # (B, 1, S)
        weights = F.softmax(scores.masked_fill(~mask[:, None, :], float("-inf")), dim=-1)
        return torch.bmm(weights, keys), weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size: int, output_size: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size, padding_idx=PAD)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout)

    def forward_step(self, previous, hidden, projected_keys, keys, mask):
        embedded = self.dropout(self.embedding(previous))  # (B, 1, H)
        context, _ = self.attention(hidden.permute(1, 0, 2), projected_keys, keys, mask)
        output, hidden = self.gru(torch.cat((embedded, context), dim=2), hidden)
        return self.out(output), hidden  # (B, 1, V)


class Tutorial:
    """The tutorial's two networks, trained and used on padded, length-sorted batches."""

    def __init__(self, source: Words, target: Words, hidden: int = 128, lr: float = 1e-3) -> None:
        self.source, self.target = source, target
        self.encoder = EncoderRNN(len(source.words), hidden)
        self.decoder = AttnDecoderRNN(hidden, len(target.words))
        self.optimizers = [torch.optim.Adam(m.parameters(), lr=lr) for m in (self.encoder, self.decoder)]

    def run(self, ids, lengths):
        outputs, hidden = self.encoder(ids, lengths)
        mask = torch.arange(ids.shape[1])[None, :] < lengths[:, None]
        return outputs, hidden, self.decoder.attention.Ua(outputs), mask

    def train_step(self, ids, lengths, targets) -> tuple[float, int]:
        keys, hidden, projected, mask = self.run(ids, lengths)
        inputs, wanted = targets[:, :-1], targets[:, 1:]
        logits = []
        for t in range(inputs.shape[1]):  # teacher forcing, as the tutorial trains
            out, hidden = self.decoder.forward_step(inputs[:, t : t + 1], hidden, projected, keys, mask)
            logits.append(out)
        log_probs = F.log_softmax(torch.cat(logits, dim=1), dim=-1)
        loss = F.nll_loss(log_probs.flatten(0, 1), wanted.flatten(), ignore_index=PAD)
        for optimizer in self.optimizers:
            optimizer.zero_grad()
        loss.backward()
        for optimizer in self.optimizers:
            optimizer.step()
        return float(loss.detach()), int((wanted != PAD).sum())

    @torch.inference_mode()
    def translate(self, texts: list[str], batch_size: int = 128) -> list[str]:
        self.encoder.eval(), self.decoder.eval()
        encoded = [self.source.encode(t) or [UNK] for t in texts]
        order = np.argsort([len(e) for e in encoded], kind="stable")
        result = [""] * len(texts)
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            ids, lengths = pad([encoded[i] for i in index])
            keys, hidden, projected, mask = self.run(ids, lengths)
            previous = torch.full((len(index), 1), BOS)
            done = torch.zeros(len(index), dtype=torch.bool)
            written: list[list[int]] = [[] for _ in index]
            for _ in range(int(2 * lengths.max()) + 10):  # greedy, to the same length limit as rnnkit's
                out, hidden = self.decoder.forward_step(previous, hidden, projected, keys, mask)
                previous = out.argmax(2)
                for row, token in enumerate(previous[:, 0].tolist()):
                    if not done[row]:
                        if token == EOS:
                            done[row] = True
                        else:
                            written[row].append(token)
                if done.all():
                    break
            for row, i in enumerate(index):
                result[i] = " ".join(self.target.words[w] for w in written[row])
        self.encoder.train(), self.decoder.train()
        return result


def pad(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(r) for r in rows])
    ids = torch.zeros(len(rows), int(lengths.max()), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
    return ids, lengths


def tutorial_batches(sources, targets, batch_size: int, rng: np.random.Generator):
    """Forever: an epoch's pairs shuffled, cut into pools of 50 batches, each pool sorted by source length."""
    while True:
        order = rng.permutation(len(sources))
        pool = 50 * batch_size
        batches = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=lambda i: len(sources[i]))
            batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
        for b in rng.permutation(len(batches)):
            index = batches[b]
            ids, lengths = pad([sources[i] for i in index])
            targets_, _ = pad([[BOS, *targets[i], EOS] for i in index])
            yield ids, lengths, targets_


def tutorial_arm(marks: list[float], test: tuple[list[str], list[list[str]]], log) -> list[dict]:
    train = read_pairs(DATA / "train.tsv")
    source, target = Words(train.sources), Words(train.targets)
    log(f"tutorial: {len(source.words):,} English and {len(target.words):,} French words")
    torch.manual_seed(0)
    model = Tutorial(source, target)
    sources = [source.encode(t) or [UNK] for t in train.sources]
    targets = [target.encode(t) for t in train.targets]
    batches = tutorial_batches(sources, targets, 32, np.random.default_rng(0))
    rows, trained, tokens, steps = [], 0.0, 0, 0
    for mark in marks:
        while trained < 60 * mark:
            started = time.perf_counter()
            _, count = model.train_step(*next(batches))
            trained += time.perf_counter() - started
            tokens, steps = tokens + count, steps + 1
        translations = model.translate(test[0])
        scores = translation_scores(translations, test[1])
        name = "tutorial (GRU 128, Bahdanau, words, greedy)"
        rows.append(row(name, mark, steps * 32 / len(sources), tokens / trained, scores))
        log(json.dumps(rows[-1]))
    return rows


# -------------------------------------------------------------------------------------------------- rnnkit's arm
def rnnkit_arm(marks: list[float], test: tuple[list[str], list[list[str]]], log, settings: dict) -> list[dict]:
    rows = []
    for mark in marks:
        with tempfile.TemporaryDirectory() as directory:
            translator = rnnkit.train(
                DATA / "train.tsv", task="translate", valid=str(DATA / "valid.tsv"), max_minutes=mark,
                out=str(Path(directory) / "run"), quiet=not sys.stderr.isatty(), **settings,
            )  # fmt: skip
            history = translator.training["members"][0]["history"]
            seconds = sum(r["seconds"] for r in history)
            tokens = sum(r["tokens_per_second"] * r["seconds"] for r in history)
            epochs = tokens / translator_epoch_tokens(translator)
            on_torch, on_onnx = rnnkit.load(translator.run_dir, engine="torch"), load_onnx(translator.run_dir)
            for beam in sorted({1, translator.decoding.beam}):
                started = time.perf_counter()
                translations = on_torch.translate(test[0], beam=beam)
                seconds_torch = time.perf_counter() - started
                started = time.perf_counter()
                same = on_onnx.translate(test[0], beam=beam) == translations
                seconds_onnx = time.perf_counter() - started
                scores = translation_scores(translations, test[1])
                name = f"rnnkit (defaults, {'greedy' if beam == 1 else f'beam {beam}'})"
                rows.append(row(name, mark, epochs, tokens / seconds, scores))
                rows[-1] |= {
                    "sentences_per_s_torch": round(len(test[0]) / seconds_torch, 1),
                    "sentences_per_s_onnx": round(len(test[0]) / seconds_onnx, 1),
                    "onnx_equals_torch": same,
                    "best_epoch": translator.training["members"][0]["best_epoch"],
                    "epochs_run": len(history),
                    "valid": translator.training["valid"],
                }
                log(json.dumps(rows[-1]))
    return rows


def translator_epoch_tokens(translator) -> int:
    """Target tokens in an epoch of the training pairs (pieces and ``</s>``), as the loop counts them."""
    train = read_pairs(DATA / "train.tsv")
    return sum(len(ids) + 1 for ids in translator.target_pieces.encode(train.targets))


def row(arm: str, minutes: float, epochs: float, rate: float, scores: dict) -> dict:
    return {
        "arm": arm,
        "minutes": minutes,
        "epochs": round(epochs, 3),
        "target_tokens_per_s": round(rate),
        "bleu": round(scores["bleu"], 2),
        "chrf": round(scores["chrf"], 2),
        "signature": scores["bleu_signature"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="training minutes per arm (the last mark)")
    parser.add_argument("--every", type=float, default=2.5, help="the tutorial's marks, in minutes")
    parser.add_argument(
        "--rnnkit-marks", default="", help="comma-separated budgets of rnnkit runs (default: --minutes)"
    )
    parser.add_argument("--arms", default="tutorial,rnnkit")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--settings", default="{}", help="a JSON object of rnnkit's options for its arm")
    parser.add_argument("--out", default="benchmarks/logs/translate_tatoeba.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    cpu = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("Model name")), "?")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    test_pairs = read_pairs(DATA / "test.tsv")
    test = group_references(test_pairs.sources, test_pairs.targets)
    log(f"test: {len(test[0]):,} sources, {len(test_pairs):,} references; {cpu}, {args.threads} threads")
    marks = [round(m * args.every, 4) for m in range(1, math.floor(args.minutes / args.every + 1e-9) + 1)]
    if not marks or marks[-1] < args.minutes:
        marks.append(args.minutes)
    rows: list[dict] = []
    arms = args.arms.split(",")
    if "tutorial" in arms:
        rows += tutorial_arm(marks, test, log)
    if "rnnkit" in arms:
        budgets = [float(m) for m in args.rnnkit_marks.split(",")] if args.rnnkit_marks else [args.minutes]
        rows += rnnkit_arm(budgets, test, log, json.loads(args.settings))
    print(f"\n{'arm':48} {'minutes':>7} {'epochs':>6} {'tok/s':>6} {'BLEU':>6} {'chrF':>6}")
    for r in rows:
        figures = f"{r['epochs']:6.3f} {r['target_tokens_per_s']:6d} {r['bleu']:6.2f} {r['chrf']:6.2f}"
        print(f"{r['arm']:48} {r['minutes']:7g} {figures}")
    signature = rows[0]["signature"] if rows else ""
    print(f"\nsacreBLEU {signature}; {cpu}, {args.threads} threads, load {os.getloadavg()[0]:.1f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"cpu": cpu, "threads": args.threads, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
