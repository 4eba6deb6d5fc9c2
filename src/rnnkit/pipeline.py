"""The saved, shareable unit: tokenizer + vocabulary + labels + network, as a directory of plain data.

The directory's format, and every check made before a weight is used, live in :mod:`rnnkit.modeldir`. A
``Pipeline`` predicts with onnxruntime when it is installed (faster; the same numbers to about 1e-7) and with
torch otherwise; ``engine="torch"`` chooses torch. :func:`load` (from :mod:`rnnkit.runtime`, so that loading an
exported ``.onnx`` file imports no torch) reads a model directory as a ``Pipeline``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnkit.data import EncodedTexts, encode_texts
from rnnkit.errors import RnnkitError
from rnnkit.modeldir import FORMAT, FORMAT_VERSION, SavedModel, write_model_dir
from rnnkit.models import ClassifierConfig, build_model
from rnnkit.rundir import clear_run, refuse_to_overwrite
from rnnkit.runtime import ENGINES, OnnxSession, Predictor, load, onnxruntime_available
from rnnkit.text import Tokenizer, Vocab

__all__ = ["FORMAT", "FORMAT_VERSION", "Pipeline", "load"]


class Pipeline(Predictor):
    """A trained text classifier: raw strings in, labels and probabilities out."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        vocab: Vocab,
        labels: list[str],
        model: nn.Module,
        model_config: ClassifierConfig,
        max_length: int | None = None,
        training: dict[str, Any] | None = None,
        engine: str = "auto",
    ) -> None:
        super().__init__(tokenizer, vocab, labels, max_length)
        self.model = model.eval()
        self.model_config = model_config
        self.training = training or {}
        self.engine = engine
        self.report: dict[str, Any] | None = None  # the test report, after rnnkit.train(..., test=...)
        self.run_dir: Path | None = None  # where rnnkit.train saved it
        self._session: tuple[tuple[int, ...], OnnxSession] | None = None

    @property
    def engine(self) -> str:
        """``"onnxruntime"`` or ``"torch"``: what runs the network in :meth:`predict_proba`."""
        return self._engine

    @engine.setter
    def engine(self, engine: str) -> None:
        if engine not in ENGINES:
            raise RnnkitError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        if engine == "onnxruntime" and not onnxruntime_available():
            raise RnnkitError("engine 'onnxruntime' needs onnxruntime and onnx: pip install 'rnnkit[onnx]'")
        if engine == "auto":
            engine = "onnxruntime" if onnxruntime_available() else "torch"
        self._engine = engine

    def __repr__(self) -> str:
        c = self.model_config
        kind = "bag of embeddings" if c.model == "bag" else f"{'bi' if c.bidirectional else ''}{c.cell.upper()}"
        members = f" x {c.members}" if c.members > 1 else ""
        return f"Pipeline({kind}{members}, {len(self.vocab)} words, labels={self.labels}, engine={self.engine!r})"

    # ------------------------------------------------------------------------------------ prediction
    def encode(self, texts: Sequence[str]) -> EncodedTexts:
        """Tokenise, truncate and encode texts exactly as in training."""
        return encode_texts(texts, self.tokenizer, self.vocab, self.max_length)

    def probabilities(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        if self.engine == "onnxruntime":
            return self._onnx_session()(ids, lengths)
        with torch.inference_mode():
            self.model.eval()
            return torch.softmax(self.model(torch.from_numpy(ids), torch.from_numpy(lengths)), dim=1).numpy()

    def _onnx_session(self) -> OnnxSession:
        """The network in onnxruntime, built on first use and again whenever its weights have changed."""
        version = (id(self.model), *(p._version for p in self.model.parameters()))
        if self._session is None or self._session[0] != version:
            self._session = (version, OnnxSession(self.model_config, self.weights()))
        return self._session[1]

    def weights(self) -> dict[str, np.ndarray]:
        """The network's weights as NumPy arrays, named as in its ``state_dict``."""
        return {name: t.detach().cpu().numpy() for name, t in self.model.state_dict().items()}

    # ---------------------------------------------------------------------------------- saving
    @classmethod
    def from_saved(cls, saved: SavedModel, engine: str = "auto") -> Pipeline:
        """The pipeline of a read and checked model directory (:func:`rnnkit.modeldir.read_model_dir`)."""
        model = build_model(saved.config)
        model.load_state_dict({name: torch.from_numpy(array) for name, array in saved.weights.items()})
        return cls(
            saved.tokenizer, saved.vocab, saved.labels, model, saved.config, saved.max_length, saved.training, engine
        )

    def save(self, directory: str | Path, overwrite: bool = False) -> Path:
        """Write the model directory (:func:`rnnkit.modeldir.write_model_dir`): each file atomically.

        A directory that holds a finished model is refused unless ``overwrite``; then everything of the old run
        (model, reports, logs, members) is removed first, so nothing is left that describes another model.
        """
        directory = Path(directory)
        if overwrite:
            clear_run(directory)
        else:
            refuse_to_overwrite(directory, "pass overwrite=True")
        saved = SavedModel(
            self.tokenizer, self.vocab, self.labels, self.model_config, self.weights(), self.max_length, self.training
        )
        return write_model_dir(directory, saved)
