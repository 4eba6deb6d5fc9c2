"""``rnnkit export``: a saved model as one self-contained ONNX file, checked against torch before it is kept.

The file holds the network as its task builds it (``rnnkit.tasks.<name>.export``: a classifier's probabilities, a
language model's next-token scores and state, a tagger's tag scores ...) and, as metadata, everything needed to feed
it from raw text in any language: the task, the tokenizer's settings, the vocabulary, and what the task adds (its
labels, settings, a CRF's transitions), with a checksum of the graph and the metadata
(:func:`rnnkit.exported.checksum`).
Before the file is written, the graph is run by onnxruntime beside the torch network; a difference above
``TOLERANCE`` keeps the file from being written at all, and an existing file is never replaced unless asked.
:func:`rnnkit.exported.load_exported` reads the file back, checked, for ``rnnkit predict`` and ``rnnkit.load``.
"""

from __future__ import annotations

import json
from pathlib import Path

from rnnkit import __version__, tasks
from rnnkit.errors import RnnkitError
from rnnkit.exported import CHECKSUM, checksum
from rnnkit.io import atomic_write_bytes
from rnnkit.modeldir import FORMAT, FORMAT_VERSION, SavedModel, read_model_dir

TOLERANCE = 1e-4  # on probabilities (about 1e-7 measured) and a language model's logits and states


def shared_metadata(saved: SavedModel) -> dict[str, str]:
    """What a reader of any exported file needs beside its task's part, as JSON strings."""
    shared = {
        "format": FORMAT,
        "format_version": json.dumps(FORMAT_VERSION),
        "task": saved.task,
        "rnnkit_version": __version__,
    }
    if saved.vocab is not None:  # a task with a vocabulary of its own (a translator's sub-words are in its part)
        shared["tokenizer"] = json.dumps(saved.tokenizer.to_dict()) if saved.tokenizer is not None else "null"
        shared["vocab"] = json.dumps(saved.vocab.tokens, ensure_ascii=False)
    return shared


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
    saved = read_model_dir(model_dir)
    task = tasks.get(saved.task)
    model = task.export(saved, shared_metadata(saved))
    onnx.helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props}, CHECKSUM: checksum(model)})
    onnx.checker.check_model(model, full_check=True)
    data = model.SerializeToString()
    difference = task.export_difference(saved, data) if check else None
    if difference is not None and not difference <= TOLERANCE:
        raise RnnkitError(
            f"the exported graph differs from the torch network by {difference:.2e} (over {TOLERANCE:.0e}); "
            f"nothing was written. Please report this with the model's config.json"
        )
    atomic_write_bytes(output, data)
    return difference
