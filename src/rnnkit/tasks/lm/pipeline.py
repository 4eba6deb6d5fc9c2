"""A trained language model on torch: tokenizer + vocabulary + network; writes text, scores a text file, saves, is
inspected. Runs on onnxruntime when it is installed, else on torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnkit.inspection import Inspectable
from rnnkit.modeldir import SavedModel
from rnnkit.tasks.lm.config import LanguageModelConfig
from rnnkit.tasks.lm.generator import Generator, OnnxLanguageModelSession
from rnnkit.text import Tokenizer, Vocab
from rnnkit.text.subwords import vocabulary_ngrams
from rnnkit.trained import TrainedNetwork, network_of, save_model_dir


class LanguageModelPipeline(Inspectable, TrainedNetwork, Generator):
    """A trained language model: tokenizer + vocabulary + network; writes text (:meth:`generate`, :meth:`stream`),
    scores a text file (:meth:`evaluate`), saves. Runs on onnxruntime when it is installed, else on torch."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        vocab: Vocab,
        model: nn.Module,
        model_config: LanguageModelConfig,
        training: dict[str, Any] | None = None,
        engine: str = "auto",
    ) -> None:
        super().__init__(tokenizer, vocab, model_config)
        model.spell(vocab.tokens)  # its vocabulary's n-grams, where it reads sub-words
        self.hold(model, model_config, training, engine)

    def __repr__(self) -> str:
        c = self.model_config
        return (
            f"LanguageModelPipeline({c.cell.upper()} {c.num_layers}x{c.hidden_size}, {len(self.vocab)} "
            f"{'characters' if self.characters else 'words'}, engine={self.engine!r})"
        )

    def step(self, ids: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        if self.engine == "onnxruntime":

            def build(config: LanguageModelConfig, weights: dict[str, np.ndarray]) -> OnnxLanguageModelSession:
                ngrams = vocabulary_ngrams(config, self.vocab.tokens)  # with the session: not at every step
                return OnnxLanguageModelSession.build(config, weights, ngrams)

            return self.onnx_session(build)(ids, state)
        with torch.inference_mode():
            self.model.eval()
            torch_state = None
            if state is not None:
                torch_state = (
                    tuple(map(torch.from_numpy, state)) if isinstance(state, tuple) else torch.from_numpy(state)
                )
            logits, new = self.model(torch.from_numpy(np.ascontiguousarray(ids)), torch_state)
            new = tuple(t.numpy() for t in new) if isinstance(new, tuple) else new.numpy()
            return logits.numpy(), new

    @classmethod
    def from_saved(cls, saved: SavedModel, engine: str = "auto") -> LanguageModelPipeline:
        """The pipeline of a read and checked language-model directory."""
        return cls(saved.tokenizer, saved.vocab, network_of(saved), saved.config, saved.training, engine)

    def save(self, directory: str | Path, overwrite: bool = False) -> Path:
        """Write the model directory, as :meth:`Pipeline.save` does."""
        saved = SavedModel(self.tokenizer, self.vocab, None, self.model_config, self.weights(), None, self.training)
        return save_model_dir(directory, saved, overwrite)
