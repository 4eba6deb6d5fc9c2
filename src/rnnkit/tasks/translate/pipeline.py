"""A trained translator on torch: two sub-word models + the network; translates, scores a file of pairs, saves, is
inspected. The search runs the network on onnxruntime when it is installed (the same translations, faster), else
on torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from rnnkit.inspection import Inspectable
from rnnkit.modeldir import SavedModel
from rnnkit.tasks.translate.config import TranslatorConfig
from rnnkit.tasks.translate.pieces import Pieces, pieces_of
from rnnkit.tasks.translate.search import Arrays
from rnnkit.tasks.translate.torch_translator import TorchTranslator
from rnnkit.tasks.translate.translator import Translator, decoding_of
from rnnkit.trained import TrainedNetwork, network_of, save_model_dir


class TranslatorPipeline(Inspectable, TrainedNetwork, Translator):
    """A trained translator: :meth:`translate` texts, :meth:`evaluate` on a file of pairs (BLEU, chrF),
    :meth:`attention` of a translation, :meth:`inspect`, :meth:`save`. Searches as it was trained to (beam width,
    length penalty, length limit: the options it was trained with), unless told otherwise."""

    def __init__(
        self,
        model: nn.Module,
        source_pieces: Pieces,
        target_pieces: Pieces,
        model_config: TranslatorConfig,
        training: dict[str, Any] | None = None,
        engine: str = "auto",
    ) -> None:
        super().__init__(model_config, source_pieces, target_pieces, decoding_of(training or {}))
        self.hold(model, model_config, training, engine)

    def __repr__(self) -> str:
        c = self.model_config
        return (
            f"TranslatorPipeline({c.cell.upper()} {c.encoder_layers}+{c.decoder_layers} layers, {c.attention} "
            f"attention, {len(self.source_pieces)} -> {len(self.target_pieces)} pieces, engine={self.engine!r})"
        )

    def runner(self) -> Translator:
        """The network as the search runs it: on onnxruntime (the graphs rebuilt whenever the weights change) or
        on torch."""
        if self.engine == "onnxruntime":
            from rnnkit.tasks.translate.graph import OnnxTranslator

            def build(config: TranslatorConfig, weights: dict[str, np.ndarray]) -> OnnxTranslator:
                return OnnxTranslator(config, self.source_pieces, self.target_pieces, weights, self.decoding)

            return self.onnx_session(build)
        return TorchTranslator(self.model, self.source_pieces, self.target_pieces, self.decoding)

    def encode(self, ids: np.ndarray, lengths: np.ndarray) -> tuple[Arrays, Arrays]:
        return self.runner().encode(ids, lengths)

    def attend(self, tokens: np.ndarray, state: Arrays, context: Arrays) -> tuple[np.ndarray, Arrays, np.ndarray]:
        return self.runner().attend(tokens, state, context)

    def top(self, tokens: np.ndarray, state: Arrays, context: Arrays, k: int) -> tuple[np.ndarray, ...]:
        return self.runner().top(tokens, state, context, k)

    @classmethod
    def from_saved(cls, saved: SavedModel, engine: str = "auto") -> TranslatorPipeline:
        """The pipeline of a read and checked translator's directory."""
        source, target = pieces_of(saved, "the model directory")
        return cls(network_of(saved), source, target, saved.config, saved.training, engine)

    def save(self, directory: str | Path, overwrite: bool = False) -> Path:
        """Write the model directory (``config.json``, ``model.safetensors``, ``source.spm``, ``target.spm``), as
        :meth:`rnnkit.Pipeline.save` does."""
        files = {"source.spm": self.source_pieces.model, "target.spm": self.target_pieces.model}
        saved = SavedModel(None, None, None, self.model_config, self.weights(), None, self.training, files=files)
        return save_model_dir(directory, saved, overwrite)
