"""Prediction: raw strings in, labels and probabilities out; and a saved classifier run by onnxruntime, no torch.

:class:`Predictor` is what every way of running a classifier shares: tokenising and encoding exactly as in
training, batches of similar lengths (little padding), and the answers put back in the input's order. Subclasses
say only how a padded batch becomes probabilities: :class:`OnnxPredictor` with onnxruntime, and
:class:`rnnkit.pipeline.Pipeline` with torch or onnxruntime.

Why onnxruntime: it runs a saved model's graph with its weights prepared once, where torch's CPU LSTM kernel
prepares them again on every call. One text through the default five-network ensemble took about a quarter of
the time, and ``rnnkit predict`` starts without importing torch (benchmarks/RESULTS.md). It is optional
(``pip install 'rnnkit[onnx]'``); without it everything runs on torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnnkit.modeldir import SavedModel, read_model_dir
from rnnkit.models.config import ClassifierConfig
from rnnkit.text import Tokenizer, Vocab, encode_ids, length_batches, pad_batch

ENGINES = ("auto", "torch", "onnxruntime")


def onnxruntime_available() -> bool:
    """Whether onnxruntime, and onnx (which builds the graph), import; a broken install counts as absent."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


class Predictor:
    """A trained text classifier's prediction side: tokenizer, vocabulary, labels, and a way to run the network."""

    def __init__(self, tokenizer: Tokenizer, vocab: Vocab, labels: list[str], max_length: int | None = None) -> None:
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.labels = list(labels)
        self.max_length = max_length

    def probabilities(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Class probabilities ``[B, C]`` of a padded batch: ``ids`` ``[B, T]`` and ``lengths`` ``[B]``, int64."""
        raise NotImplementedError

    def predict_proba(self, texts: Sequence[str] | str, batch_size: int = 256) -> np.ndarray:
        """Class probabilities ``[N, C]``, columns in the order of ``self.labels``."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        texts = [texts] if isinstance(texts, str) else list(texts)
        result = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        if not texts:
            return result
        ids, offsets, lengths = encode_ids(texts, self.tokenizer, self.vocab, self.max_length)
        for index in length_batches(lengths, batch_size):
            result[index] = self.probabilities(*pad_batch(ids, offsets, lengths, index))
        return result

    def predict(self, texts: Sequence[str] | str, batch_size: int = 256) -> list[str]:
        """The most probable label of each text."""
        return [self.labels[i] for i in self.predict_proba(texts, batch_size).argmax(1)]


class OnnxSession:
    """The network of ``config`` with ``weights`` (NumPy arrays named as in its ``state_dict``) in onnxruntime."""

    def __init__(self, config: ClassifierConfig, weights: dict[str, np.ndarray]) -> None:
        import onnxruntime

        from rnnkit.onnxgraph import classifier_graph

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: its notes on graph rewrites are not the user's concern
        # The weights go to onnxruntime as arrays, not copied into the graph; they must outlive the session.
        self.arrays: dict[str, np.ndarray] = {}
        graph = classifier_graph(config, weights, external=self.arrays)
        names = list(self.arrays)
        options.add_external_initializers(
            names, [onnxruntime.OrtValue.ortvalue_from_numpy(self.arrays[n]) for n in names]
        )
        self.session = onnxruntime.InferenceSession(
            graph.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"ids": ids, "lengths": lengths})[0]


class OnnxPredictor(Predictor):
    """A saved classifier run by onnxruntime: loads and predicts without importing torch."""

    def __init__(self, saved: SavedModel) -> None:
        super().__init__(saved.tokenizer, saved.vocab, saved.labels, saved.max_length)
        self.config = saved.config
        self.session = OnnxSession(saved.config, saved.weights)

    def __repr__(self) -> str:
        return f"OnnxPredictor({self.config.model}, {len(self.vocab)} words, labels={self.labels})"

    def probabilities(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self.session(ids, lengths)


def load_onnx(directory: str | Path) -> OnnxPredictor:
    """A model directory, checked as :func:`rnnkit.load` checks it, ready to predict with onnxruntime."""
    return OnnxPredictor(read_model_dir(directory))
