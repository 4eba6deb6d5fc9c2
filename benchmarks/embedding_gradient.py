"""Training tokens/s on SST-2 GLUE with the embedding's gradient dense (today), frozen, or sparse (SparseAdam).

A measurement for issue 5, not yet a feature: the dense gradient of a 13,000 x 128 embedding is written, clipped and
updated every step although a batch touches a few hundred rows. 400 bucketed batches of 32, the default model, two
rounds. Usage: python benchmarks/embedding_gradient.py (from the repository root, with ../shared beside it).
"""

import time

import torch
from torch.nn import functional as F

from rnnkit.data import BucketBatchSampler, collate, encode_texts, read_examples
from rnnkit.tasks import build as build_model
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.text import Vocab, WordTokenizer
from rnnkit.training.trainer import clip_gradients

ex = read_examples("../shared/datasets/sst2_glue/train.csv")
tok = WordTokenizer()
vocab = Vocab.build((tok(t) for t in ex.texts), min_freq=2)
data = encode_texts(ex.texts, tok, vocab, 400, [int(label) for label in ex.labels])
batches = list(BucketBatchSampler(data.lengths, 32, seed=0))[:400]


def run(mode):
    torch.manual_seed(0)
    model = build_model(ClassifierConfig(vocab_size=len(vocab), num_classes=2, dropout=0.3))
    if mode == "frozen":
        model.embedding.weight.requires_grad_(False)
    if mode == "sparse":
        model.embedding.sparse = True
        emb = [model.embedding.weight]
        rest = [p for n, p in model.named_parameters() if n != "embedding.weight"]
        opts = [torch.optim.SparseAdam(emb, lr=5e-3), torch.optim.AdamW(rest, lr=5e-3, fused=True)]
        params = rest
    else:
        params = [p for p in model.parameters() if p.requires_grad]
        opts = [torch.optim.AdamW(params, lr=5e-3, fused=True)]
    tokens = 0
    start = time.perf_counter()
    for b in batches:
        ids, lengths, y = collate(data, b)
        tokens += int(lengths.sum())
        loss = F.cross_entropy(model(ids, lengths), y)
        for o in opts:
            o.zero_grad()
        loss.backward()
        clip_gradients(params, 1.0)
        for o in opts:
            o.step()
    return tokens / (time.perf_counter() - start)


for _round in range(2):
    print({m: f"{run(m):,.0f}" for m in ("dense", "frozen", "sparse")})
