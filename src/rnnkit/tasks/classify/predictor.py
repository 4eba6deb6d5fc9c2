"""A trained classifier's use side without torch: raw strings in, labels and probabilities out.

:class:`Predictor` is what every way of running a classifier shares: tokenising and encoding exactly as in
training, batches of similar lengths (little padding), the answers put back in the input's order, a warning for
blank texts and for texts cut to ``max_length``, and evaluation on a labelled file. Subclasses say only how a padded
batch becomes probabilities: :class:`OnnxPredictor` with onnxruntime, and
:class:`rnnkit.tasks.classify.pipeline.Pipeline` with torch or onnxruntime.

An :class:`OnnxPredictor` comes from a model directory (:func:`rnnkit.loading.load_onnx`) or from one ONNX file
written by ``rnnkit export`` (:func:`rnnkit.exported.load_exported`); :func:`rnnkit.loading.load` takes either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnkit.errors import DataError
from rnnkit.metrics import classification_report
from rnnkit.modeldir import SavedModel
from rnnkit.onnxsessions import session_options
from rnnkit.runtime import SHOWN, blank_texts, warn_blank, warn_truncated
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.text import Tokenizer, Vocab, encode_ids, length_batches
from rnnkit.text.spellings import Spellings
from rnnkit.text.subwords import Subwords

if TYPE_CHECKING:
    from rnnkit.data.readers import Examples


class Predictor:
    """A trained text classifier's prediction side: tokenizer, vocabulary, labels, and a way to run the network."""

    task = "classify"
    # The columns of the file the model was trained on (config.json's training.data_columns): evaluate reads them
    # in a file that has them, so that a test file like the training file needs no column options.
    data_columns: dict[str, Any] | None = None

    def __init__(
        self,
        tokenizer: Tokenizer,
        vocab: Vocab,
        labels: list[str],
        max_length: int | None = None,
        subwords: Subwords | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.labels = list(labels)
        self.max_length = max_length
        self.subwords = subwords  # the words' hashed n-grams, for a network that reads them

    def probabilities(self, ids: np.ndarray, lengths: np.ndarray, spellings: Spellings | None = None) -> np.ndarray:
        """Class probabilities ``[B, C]`` of a padded batch: ``ids`` ``[B, T]`` and ``lengths`` ``[B]``, int64, and
        the words' ``spellings`` (``forms``, ``ngrams``) where the network reads sub-words."""
        raise NotImplementedError

    def predict_proba(self, texts: Sequence[str] | str, batch_size: int = 256, *, warn: bool = True) -> np.ndarray:
        """Class probabilities ``[N, C]``, columns in the order of ``self.labels``.

        Blank texts (empty or whitespace only) get an answer too, and texts longer than ``max_length`` tokens are
        read up to it, each with an :class:`rnnkit.errors.RnnkitWarning` naming them; ``warn=False`` leaves the
        warnings to the caller (the command line names input lines: see :meth:`predict_proba_truncated`).
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        if warn:
            blank = blank_texts(texts)
            warn_blank(len(blank), len(texts), blank, stacklevel=2)  # the line that called predict_proba
        probabilities, truncated = self.predict_proba_truncated(texts, batch_size)
        if warn:
            self._warn_truncated(truncated, stacklevel=2)
        return probabilities

    def predict_proba_truncated(self, texts: Sequence[str], batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities ``[N, C]``, as :meth:`predict_proba` gives them, and the number of tokens of each
        text beyond ``max_length``, not read (``[N]``, int64; 0 for a text read whole). Warns of nothing."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        texts = list(texts)
        result = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        if not texts:
            return result, np.zeros(0, dtype=np.int64)
        encoded = encode_ids(texts, self.tokenizer, self.vocab, self.max_length, self.subwords)
        for index in length_batches(encoded.lengths, batch_size):
            result[index] = self.probabilities(*encoded.batch(index))
        assert encoded.truncated is not None
        return result, encoded.truncated

    def _warn_truncated(self, truncated: np.ndarray, lines: Sequence[int] | None = None, stacklevel: int = 1) -> None:
        """Warn of the texts ``truncated`` says were cut, named by their ``lines`` in a file (else their 1-based
        positions)."""
        cut = np.flatnonzero(truncated)
        first = [lines[i] if lines is not None else int(i) + 1 for i in cut[:SHOWN]]
        named = "line" if lines is not None else "text"
        tokens = int(truncated.sum())
        warn_truncated(len(cut), len(truncated), first, tokens, self.max_length, "text", named, stacklevel + 1)

    def predict(self, texts: Sequence[str] | str, batch_size: int = 256) -> list[str]:
        """The most probable label of each text; blank and truncated texts are warned about as in
        :meth:`predict_proba`."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        blank = blank_texts(texts)
        warn_blank(len(blank), len(texts), blank, stacklevel=2)  # the line that called predict
        probabilities, truncated = self.predict_proba_truncated(texts, batch_size)
        self._warn_truncated(truncated, stacklevel=2)
        return [self.labels[i] for i in probabilities.argmax(1)]

    def label_indices(self, labels: Iterable[str], source: str = "the data") -> list[int]:
        """The column of each label in ``self.labels``; a label the model never saw is a :class:`DataError`."""
        labels = list(labels)  # read twice below: a generator would be empty the second time
        index = {label: i for i, label in enumerate(self.labels)}
        unknown = sorted({label for label in labels if label not in index})
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise DataError(
                f"{source}: label(s) {shown} never seen in training; the model knows {', '.join(self.labels)}"
            )
        return [index[label] for label in labels]

    def evaluate(self, data: str | Path | Examples, **read_options: Any) -> dict[str, Any]:
        """Accuracy, macro-F1, per-class figures and the confusion matrix on a labelled file or ``Examples``
        (``read_options`` as for :func:`rnnkit.data.read_examples`)."""
        from rnnkit.data.readers import Examples, read_examples  # the readers need no torch; see the report

        read_options = {"trained_on": self.data_columns, **read_options}
        examples = data if isinstance(data, Examples) else read_examples(data, **read_options)
        if examples.labels is None:
            raise DataError(f"{examples.source}: no labels to evaluate against")
        truth = self.label_indices(examples.labels, examples.source)
        probabilities, truncated = self.predict_proba_truncated(examples.texts)
        lines = examples.lines if len(examples.lines) == len(examples.texts) else None
        self._warn_truncated(truncated, lines, stacklevel=2)
        report = classification_report(truth, probabilities.argmax(1), self.labels)
        report["source"] = examples.source
        report["skipped_empty"] = examples.skipped_empty
        report["truncated_texts"] = int(np.count_nonzero(truncated))  # read up to max_length only
        return report


class OnnxSession:
    """The network of ``config`` with ``weights`` (NumPy arrays named as in its ``state_dict``) in onnxruntime."""

    def __init__(self, config: ClassifierConfig, weights: dict[str, np.ndarray]) -> None:
        import onnxruntime

        from rnnkit.tasks.classify.graph import classifier_graph

        options = session_options()
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

    def __call__(self, ids: np.ndarray, lengths: np.ndarray, spellings: Spellings | None = None) -> np.ndarray:
        return self.session.run(None, classifier_inputs(ids, lengths, spellings))[0]


def classifier_inputs(ids: np.ndarray, lengths: np.ndarray, spellings: Spellings | None) -> dict[str, np.ndarray]:
    """A padded batch as a classifier's ONNX graph takes it (the sub-words only where the network reads them)."""
    inputs = {"ids": ids, "lengths": lengths}
    if spellings is not None:
        inputs |= {"forms": spellings.forms, "ngrams": spellings.ngrams}
    return inputs


class OnnxPredictor(Predictor):
    """A classifier run by onnxruntime, from a model directory (:meth:`from_saved`) or an exported file
    (:func:`load_exported`): predicts and evaluates without importing torch.

    ``session`` maps a padded batch (``ids``, ``lengths``) to its probabilities; ``source`` names where it came from.
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        vocab: Vocab,
        labels: list[str],
        max_length: int | None,
        session: Callable[[np.ndarray, np.ndarray, Spellings | None], np.ndarray],
        source: str,
        subwords: Subwords | None = None,
    ) -> None:
        super().__init__(tokenizer, vocab, labels, max_length, subwords)
        self.session = session
        self.source = source

    @classmethod
    def from_saved(cls, saved: SavedModel, source: str = "a model directory") -> OnnxPredictor:
        """The network of a read and checked model directory (:func:`rnnkit.modeldir.read_model_dir`)."""
        session = OnnxSession(saved.config, saved.weights)
        subwords = Subwords.of(saved.config)
        predictor = cls(saved.tokenizer, saved.vocab, saved.labels, saved.max_length, session, source, subwords)
        predictor.data_columns = saved.training.get("data_columns")
        return predictor

    def __repr__(self) -> str:
        return f"OnnxPredictor({self.source}, {len(self.vocab)} words, labels={self.labels})"

    def probabilities(self, ids: np.ndarray, lengths: np.ndarray, spellings: Spellings | None = None) -> np.ndarray:
        return self.session(ids, lengths, spellings)
