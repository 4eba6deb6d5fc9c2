"""The saved, shareable unit: tokenizer + vocabulary + labels + network, as a directory of plain data.

The directory's format, and every check made before a weight is used, live in :mod:`rnnkit.modeldir`. A
``Pipeline`` predicts with onnxruntime when it is installed (faster; the same numbers to about 1e-7) and with
torch otherwise; ``engine="torch"`` chooses torch. :func:`load` (from :mod:`rnnkit.runtime`, so that loading an
exported ``.onnx`` file imports no torch) reads a model directory as a ``Pipeline`` or, for a language model, a
:class:`LanguageModelPipeline`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnkit.data import EncodedTexts, encode_texts
from rnnkit.generator import Generator, OnnxLanguageModelSession
from rnnkit.inspection import Inspectable
from rnnkit.modeldir import FORMAT, FORMAT_VERSION, SavedModel, write_model_dir
from rnnkit.models import ClassifierConfig, build_model
from rnnkit.models.config import LanguageModelConfig, TaggerConfig
from rnnkit.rundir import clear_run, finished, promote, refuse_to_overwrite, staging_dir
from rnnkit.runtime import OnnxSession, Predictor, choose_engine, load
from rnnkit.tagger import OnnxTaggerSession, Tagger, Transitions
from rnnkit.text import Tokenizer, Vocab
from rnnkit.text.sentences import SentenceBatch
from rnnkit.text.spellings import Spellings
from rnnkit.text.subwords import Subwords, vocabulary_ngrams

__all__ = ["FORMAT", "FORMAT_VERSION", "LanguageModelPipeline", "Pipeline", "TaggerPipeline", "load"]


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


def network_of(saved: SavedModel) -> nn.Module:
    """The torch network of a read and checked model directory, its weights loaded."""
    model = build_model(saved.config)
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
        from rnnkit.tasks.tag import torch_scores

        self.model.eval()
        return torch_scores(self.model)(batch)

    def transitions(self) -> Transitions | None:
        from rnnkit.tasks.tag import torch_transitions

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
