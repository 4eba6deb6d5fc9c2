"""What every trained model on torch holds beside its task's use side (:class:`TrainedNetwork`), and the steps every
task shares to save and rebuild one: its weights as NumPy arrays, a network rebuilt from a read model directory,
and saving a model directory without losing a finished one.

A pipeline predicts with onnxruntime when it is installed (faster; the same numbers to about 1e-7) and with torch
otherwise; ``engine="torch"`` chooses torch. :func:`rnnkit.loading.load` reads a model directory as its task's
pipeline.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnkit import tasks
from rnnkit.modeldir import SavedModel, write_model_dir
from rnnkit.rundir import clear_run, finished, promote, refuse_to_overwrite, staging_dir
from rnnkit.runtime import choose_engine


class TrainedNetwork:
    """What every trained pipeline (classifier, language model, tagger) holds beside its use side: the torch
    network, its configuration, the record of its training, the engine that runs it (``"onnxruntime"`` or
    ``"torch"``), and an onnxruntime session of the network, rebuilt whenever its weights have changed."""

    def hold(self, model: nn.Module, config: Any, training: dict[str, Any] | None, engine: str) -> None:
        self.model = model.eval()
        self.model_config = config
        self.training = training or {}
        self.engine = choose_engine(engine)
        self.report: dict[str, Any] | None = None  # the test report, after rnnkit.train(..., test=...)
        self.run_dir: Path | None = None
        self._session: tuple[tuple[int, ...], Any] | None = None

    def onnx_session(self, build: Callable[[Any, dict[str, np.ndarray]], Any]) -> Any:
        """The network in onnxruntime, made by ``build(config, weights)`` on first use and after any change."""
        version = weights_version(self.model)
        if self._session is None or self._session[0] != version:
            self._session = (version, build(self.model_config, self.weights()))
        return self._session[1]

    def weights(self) -> dict[str, np.ndarray]:
        """The network's weights as NumPy arrays, named as in its ``state_dict``."""
        return numpy_weights(self.model)


def network_of(saved: SavedModel) -> nn.Module:
    """The torch network of a read and checked model directory, its weights loaded."""
    model = tasks.build(saved.config)
    model.load_state_dict({name: torch.from_numpy(array) for name, array in saved.weights.items()})
    return model


def numpy_weights(model: nn.Module) -> dict[str, np.ndarray]:
    return {name: t.detach().cpu().numpy() for name, t in model.state_dict().items()}


def weights_version(model: nn.Module) -> tuple[int, ...]:
    """Changes whenever a weight of ``model`` is changed in place: an onnxruntime session built from the weights
    is rebuilt then."""
    return (id(model), *(p._version for p in model.parameters()))


def save_model_dir(directory: str | Path, saved: SavedModel, overwrite: bool) -> Path:
    """Write a model directory; one that holds a finished model is refused unless ``overwrite``, and then the
    new model is written beside it and replaces it, with nothing of the old run (model, reports, logs, members)
    left: the old model is whole until the new one is (:func:`rnnkit.rundir.promote`)."""
    directory = Path(directory)
    if not overwrite:
        refuse_to_overwrite(directory, "pass overwrite=True")
        return write_model_dir(directory, saved)
    if not finished(directory):
        if directory.is_dir():
            clear_run(directory)
        return write_model_dir(directory, saved)
    staging = staging_dir(directory)
    if staging.exists():
        shutil.rmtree(staging)
    write_model_dir(staging, saved)
    return promote(staging)
