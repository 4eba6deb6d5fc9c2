"""``rnnkit export``: a saved classifier as one self-contained ONNX file, checked against torch before it is kept.

The file holds the network (:mod:`rnnkit.onnxgraph`: ``ids`` ``[B, T]`` and ``lengths`` ``[B]`` in, class
``probabilities`` ``[B, C]`` out) and, as metadata, everything needed to feed it from raw text in any language:
the labels, the tokenizer's settings, the vocabulary and the truncation length. Before the file is written, the
graph is run by onnxruntime beside the torch network on random padded batches; a difference above
``TOLERANCE`` keeps the file from being written at all, and an existing file is never replaced unless asked.
:func:`rnnkit.exported.load_exported` reads the file back, checked, for ``rnnkit predict`` and ``rnnkit.load``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rnnkit import __version__
from rnnkit.errors import RnnkitError
from rnnkit.io import atomic_write_bytes
from rnnkit.modeldir import FORMAT, FORMAT_VERSION, SavedModel, read_model_dir

TOLERANCE = 1e-4  # on probabilities; measured differences are about 1e-7


def metadata(saved: SavedModel) -> dict[str, str]:
    """What a reader of the ONNX file needs beside the graph, as JSON strings."""
    return {
        "format": FORMAT,
        "format_version": json.dumps(FORMAT_VERSION),
        "rnnkit_version": __version__,
        "labels": json.dumps(saved.labels, ensure_ascii=False),
        "tokenizer": json.dumps(saved.tokenizer.to_dict()),
        "max_length": json.dumps(saved.max_length),
        "vocab": json.dumps(saved.vocab.tokens, ensure_ascii=False),
        "inputs": "ids: int64 [batch, steps], token ids padded with 0 (<pad>), unknown words 1 (<unk>); "
        "lengths: int64 [batch], each in 1..steps",
        "outputs": "probabilities: float32 [batch, classes], columns in the order of labels",
    }


def random_batches(vocab_size: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Padded batches of random ids: one text, equal lengths, ragged lengths with 1 and the maximum among them."""
    rng = np.random.default_rng(seed)
    batches = []
    for batch, steps in ((1, 1), (1, 7), (5, 12), (16, 30), (3, 64)):
        lengths = rng.integers(1, steps + 1, batch)
        lengths[0] = steps
        if batch > 2:
            lengths[1] = 1
        ids = rng.integers(1, vocab_size, (batch, steps))
        ids[np.arange(steps)[None, :] >= lengths[:, None]] = 0
        batches.append((ids, lengths))
    batches.append((rng.integers(1, vocab_size, (4, 9)), np.full(4, 9)))  # all T long: torch's one-kernel path
    return batches


def largest_difference(saved: SavedModel, model_bytes: bytes) -> float:
    """The largest difference of any probability between onnxruntime on ``model_bytes`` and torch."""
    import onnxruntime

    from rnnkit.pipeline import Pipeline

    torch_network = Pipeline.from_saved(saved, engine="torch")
    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    worst = 0.0
    for ids, lengths in random_batches(saved.config.vocab_size):
        expected = torch_network.probabilities(ids, lengths)
        got = session.run(None, {"ids": ids, "lengths": lengths})[0]
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def export_onnx(model_dir: str | Path, output: str | Path, check: bool = True, overwrite: bool = False) -> float | None:
    """Write ``model_dir`` as an ONNX file at ``output``; with ``check``, return the largest difference from
    torch (and write nothing when it exceeds ``TOLERANCE``). An existing ``output`` is refused unless ``overwrite``:
    a model silently replaced by another is a wrong answer nobody sees."""
    output = Path(output)
    if output.is_dir():
        raise RnnkitError(f"{output}: is a directory; name the ONNX file to write, such as {output / 'model.onnx'}")
    if output.exists() and not overwrite:
        raise RnnkitError(
            f"{output}: already exists; nothing was written (--overwrite, or overwrite=True, replaces it)"
        )
    try:
        import onnx
        import onnxruntime  # noqa: F401  (the check runs the graph on it)
    except ImportError:
        raise RnnkitError("rnnkit export needs onnx and onnxruntime: pip install 'rnnkit[onnx]'") from None
    from rnnkit.onnxgraph import classifier_graph

    saved = read_model_dir(model_dir)
    model = classifier_graph(saved.config, saved.weights, metadata(saved))
    onnx.checker.check_model(model, full_check=True)
    data = model.SerializeToString()
    difference = largest_difference(saved, data) if check else None
    if difference is not None and not difference <= TOLERANCE:
        raise RnnkitError(
            f"the exported graph differs from the torch network by {difference:.2e} (over {TOLERANCE:.0e}); "
            f"nothing was written. Please report this with the model's config.json"
        )
    atomic_write_bytes(output, data)
    return difference
