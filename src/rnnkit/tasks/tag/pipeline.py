"""A trained sequence tagger on torch: tokenizer + vocabularies + tags + network; tags sentences and files, scores a
tagged file, saves, is inspected. Runs on onnxruntime when it is installed, else on torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from rnnkit.inspection import Inspectable
from rnnkit.modeldir import SavedModel
from rnnkit.tasks.tag.config import TaggerConfig
from rnnkit.tasks.tag.objective import torch_scores, torch_transitions
from rnnkit.tasks.tag.tagger import OnnxTaggerSession, Tagger, Transitions
from rnnkit.text import Tokenizer, Vocab
from rnnkit.text.sentences import SentenceBatch
from rnnkit.trained import TrainedNetwork, network_of, save_model_dir


class TaggerPipeline(Inspectable, TrainedNetwork, Tagger):
    """A trained sequence tagger: tokenizer + vocabularies + tags + network; tags sentences (:meth:`predict`,
    :meth:`tag`), scores a tagged file (:meth:`evaluate`), writes tagged files (:meth:`tag_file`), saves. Runs on
    onnxruntime when it is installed, else on torch."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        vocab: Vocab,
        characters: Vocab | None,
        tags: list[str],
        model: nn.Module,
        model_config: TaggerConfig,
        training: dict[str, Any] | None = None,
        engine: str = "auto",
    ) -> None:
        super().__init__(tokenizer, vocab, characters, tags, model_config)
        self.hold(model, model_config, training, engine)

    def __repr__(self) -> str:
        c = self.model_config
        return (
            f"TaggerPipeline({'bi' if c.bidirectional else ''}{c.cell.upper()} {c.num_layers}x{c.hidden_size}"
            f"{' + characters' if c.characters else ''}{' + CRF' if c.crf else ''}, {len(self.vocab)} words, "
            f"{len(self.labels)} tags, engine={self.engine!r})"
        )

    def scores(self, batch: SentenceBatch) -> np.ndarray:
        if self.engine == "onnxruntime":
            return self.onnx_session(OnnxTaggerSession.build)(batch)
        self.model.eval()
        return torch_scores(self.model)(batch)

    def transitions(self) -> Transitions | None:
        return torch_transitions(self.model)

    @classmethod
    def from_saved(cls, saved: SavedModel, engine: str = "auto") -> TaggerPipeline:
        """The pipeline of a read and checked tagger directory."""
        return cls(
            saved.tokenizer,
            saved.vocab,
            saved.characters,
            saved.labels,
            network_of(saved),
            saved.config,
            saved.training,
            engine,
        )

    def save(self, directory: str | Path, overwrite: bool = False) -> Path:
        """Write the model directory, as :meth:`Pipeline.save` does."""
        saved = SavedModel(
            self.tokenizer,
            self.vocab,
            self.labels,
            self.model_config,
            self.weights(),
            None,
            self.training,
            self.characters,
        )
        return save_model_dir(directory, saved, overwrite)
