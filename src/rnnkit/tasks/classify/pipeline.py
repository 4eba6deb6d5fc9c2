"""A trained text classifier on torch: tokenizer + vocabulary + labels + network, predicting on onnxruntime when it is
installed (the same probabilities to about 1e-7) and on torch otherwise; it saves, evaluates and is inspected."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnkit.data import EncodedTexts, encode_texts
from rnnkit.inspection import Inspectable
from rnnkit.modeldir import SavedModel
from rnnkit.runtime import choose_engine
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.classify.predictor import OnnxSession, Predictor
from rnnkit.text import Tokenizer, Vocab
from rnnkit.text.spellings import Spellings
from rnnkit.text.subwords import Subwords
from rnnkit.trained import TrainedNetwork, network_of, save_model_dir


class Pipeline(Inspectable, TrainedNetwork, Predictor):
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
        super().__init__(tokenizer, vocab, labels, max_length, Subwords.of(model_config))
        self.hold(model, model_config, training, engine)
        self.data_columns = self.training.get("data_columns")

    @property
    def engine(self) -> str:
        """``"onnxruntime"`` or ``"torch"``: what runs the network in :meth:`predict_proba`."""
        return self._engine

    @engine.setter
    def engine(self, engine: str) -> None:
        self._engine = choose_engine(engine)

    def __repr__(self) -> str:
        c = self.model_config
        kind = "bag of embeddings" if c.model == "bag" else f"{'bi' if c.bidirectional else ''}{c.cell.upper()}"
        members = f" x {c.members}" if c.members > 1 else ""
        pieces = f" + {c.subwords:,} n-gram buckets" if c.subwords else ""
        return (
            f"Pipeline({kind}{members}{pieces}, {len(self.vocab)} words, labels={self.labels}, engine={self.engine!r})"
        )

    # ------------------------------------------------------------------------------------ prediction
    def encode(self, texts: Sequence[str]) -> EncodedTexts:
        """Tokenise, truncate and encode texts exactly as in training."""
        return encode_texts(texts, self.tokenizer, self.vocab, self.max_length, subwords=self.subwords)

    def probabilities(self, ids: np.ndarray, lengths: np.ndarray, spellings: Spellings | None = None) -> np.ndarray:
        if self.engine == "onnxruntime":
            return self.onnx_session(OnnxSession)(ids, lengths, spellings)
        with torch.inference_mode():
            self.model.eval()
            spelled = None if spellings is None else spellings.map(torch.from_numpy)
            logits = self.model(torch.from_numpy(ids), torch.from_numpy(lengths), spellings=spelled)
            return torch.softmax(logits, dim=1).numpy()

    # ---------------------------------------------------------------------------------- saving
    @classmethod
    def from_saved(cls, saved: SavedModel, engine: str = "auto") -> Pipeline:
        """The pipeline of a read and checked model directory (:func:`rnnkit.modeldir.read_model_dir`)."""
        model = network_of(saved)
        return cls(
            saved.tokenizer, saved.vocab, saved.labels, model, saved.config, saved.max_length, saved.training, engine
        )

    def save(self, directory: str | Path, overwrite: bool = False) -> Path:
        """Write the model directory (:func:`rnnkit.modeldir.write_model_dir`): each file atomically.

        A directory that holds a finished model is refused unless ``overwrite``; then everything of the old run
        (model, reports, logs, members) is removed first, so nothing is left that describes another model.
        """
        saved = SavedModel(
            self.tokenizer, self.vocab, self.labels, self.model_config, self.weights(), self.max_length, self.training
        )
        return save_model_dir(directory, saved, overwrite)
