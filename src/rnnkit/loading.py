"""Loading a trained model, whatever its task: a model directory (checked by :mod:`rnnkit.modeldir` before a weight
is used) as its task's pipeline on torch or its model on onnxruntime, or a file written by ``rnnkit export``
(:mod:`rnnkit.exported`). The task named in the model's files says which; nothing here names one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit import tasks
from rnnkit.errors import RnnkitError
from rnnkit.exported import is_exported, load_exported
from rnnkit.modeldir import read_model_dir
from rnnkit.runtime import ENGINES, onnxruntime_available


def load(path: str | Path, engine: str = "auto") -> Any:
    """Load a model directory written by ``rnnkit train`` (or a pipeline's ``save``), or an ONNX file written by
    ``rnnkit export``, refusing anything damaged or foreign.

    A directory gives its task's pipeline (a classifier's :class:`rnnkit.Pipeline`, a language model's
    :class:`rnnkit.LanguageModelPipeline`, a tagger's :class:`rnnkit.TaggerPipeline` ...; torch is imported), run
    by ``engine``: ``"auto"`` (onnxruntime when installed, else torch), ``"torch"`` or ``"onnxruntime"``. An
    exported file gives its task's model on onnxruntime, without importing torch; it runs on onnxruntime only.
    """
    if engine not in ENGINES:
        raise RnnkitError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if is_exported(path):
        if engine == "torch":
            raise RnnkitError(
                f"{path}: an exported model runs on onnxruntime only; load its model directory to run it on torch"
            )
        return load_exported(path)
    saved = read_model_dir(path)
    return tasks.get(saved.task).pipeline(saved, engine)


def load_onnx(directory: str | Path) -> Any:
    """A model directory, checked as :func:`load` checks it, ready to run on onnxruntime without torch: its task's
    torch-free model."""
    saved = read_model_dir(directory)
    return tasks.get(saved.task).onnx_model(saved, str(directory))


def load_for_use(path: str | Path) -> Any:
    """The model at ``path`` run by onnxruntime when it is installed (and torch never imported: a fast start), else
    by torch: what the command line's ``predict``, ``evaluate`` and the other verbs use."""
    if is_exported(path) or onnxruntime_available():
        return load_exported(path) if is_exported(path) else load_onnx(path)
    return load(path, engine="torch")
