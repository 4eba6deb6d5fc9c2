"""Pretrained word vectors from a local text file (word2vec, GloVe or fastText ``.vec`` format).

One word and its numbers per line, separated by spaces; word2vec and fastText files start with a ``count dim``
header line, GloVe files do not. The file is streamed and only the vocabulary's words are kept, so a
multi-gigabyte file needs no more memory than the vocabulary's rows.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import torch
from torch import Tensor

from rnnkit.errors import DataError
from rnnkit.text import Vocab


def read_vectors(path: str | Path, vocab: Vocab, dim: int) -> tuple[Tensor, Tensor]:
    """``(vectors [V, dim], found [V] bool)``: the file's vector for each vocabulary word that it lists."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such vectors file; check the path")
    vectors = torch.zeros(len(vocab), dim)
    found = torch.zeros(len(vocab), dtype=torch.bool)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="\n") as f:
        number = 0
        try:
            for number, line in enumerate(f, 1):
                parts = line.rstrip("\n").rstrip(" ").split(" ")
                if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    if int(parts[1]) != dim:
                        raise DataError(f"{path}: vectors have {parts[1]} dimensions; pass --embedding-dim {parts[1]}")
                    continue  # the word2vec / fastText header
                if len(parts) < 2:
                    continue
                if len(parts) - 1 != dim:
                    raise DataError(
                        f"{path} line {number}: {len(parts) - 1} numbers where {dim} were expected; "
                        f"pass --embedding-dim {len(parts) - 1} if that is the file's size"
                    )
                index = vocab.index.get(parts[0])
                if index is None or index < 2 or found[index]:
                    continue  # not in the vocabulary, a special, or a repeat (the first one wins)
                try:
                    vectors[index] = torch.tensor([float(x) for x in parts[1:]])
                except ValueError:
                    raise DataError(f"{path} line {number}: a value is not a number") from None
                found[index] = True
        except UnicodeDecodeError:
            raise DataError(f"{path} line {number + 1}: not valid UTF-8; re-save the file as UTF-8") from None
    return vectors, found
