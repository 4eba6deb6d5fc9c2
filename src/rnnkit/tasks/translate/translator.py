"""A trained translator's use side: texts in, translations out; its BLEU and chrF on a file of pairs.

:class:`Translator` is what every way of running a translation network shares: texts cut into sub-words as in
training, batches of similar lengths, the search of :mod:`rnnkit.tasks.translate.search` (greedy, or beam search
with GNMT's length penalty and a maximum length relative to the source), pieces put back into text, the input's
order restored, and evaluation with sacreBLEU. Subclasses say only how the network runs, as two functions on NumPy
arrays: ``encode`` (a batch of sources -> the decoder's first state and what it reads) and ``step`` (one decoding
step). :class:`rnnkit.tasks.translate.torch_translator.TorchTranslator` runs them on torch,
:class:`rnnkit.tasks.translate.graph.OnnxTranslator` on onnxruntime without torch: the same search over the same
numbers, so the same translations.

An empty text (or one with nothing left after normalisation) translates to an empty text without running the
network. Sentences are translated independently: a batch gives each sentence the translation it gets alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from rnnkit.errors import ModelFileError, RnnkitError
from rnnkit.tasks.translate.config import TranslatorConfig
from rnnkit.tasks.translate.data import Pairs, group_references, read_pairs
from rnnkit.tasks.translate.options import DEFAULTS
from rnnkit.tasks.translate.pieces import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Pieces
from rnnkit.tasks.translate.scoring import translation_scores
from rnnkit.tasks.translate.search import Arrays, Hypothesis, beam_search, greedy_search, top_of
from rnnkit.text.encoding import length_batches

BANNED = (PAD_ID, UNK_ID, BOS_ID)  # never written: <unk> would print as " ⁇ ", and sub-words spell any word


@dataclass
class Decoding:
    """How translations are searched for: ``beam`` (1: greedy), the length penalty's ``alpha``, at most
    ``max_ratio * source pieces + max_extra`` pieces per translation, ``batch_size`` sentences at a time."""

    beam: int = DEFAULTS["beam"]
    alpha: float = DEFAULTS["length_penalty"]
    max_ratio: float = DEFAULTS["max_ratio"]
    max_extra: int = DEFAULTS["max_extra"]
    batch_size: int = 64

    def __post_init__(self) -> None:
        checks = [
            (self.beam >= 1, f"beam must be at least 1, got {self.beam}"),
            (self.alpha >= 0, f"the length penalty's alpha must not be negative, got {self.alpha}"),
            (self.max_ratio > 0 and self.max_extra >= 0, "max_ratio must be positive and max_extra not negative"),
            (self.batch_size >= 1, f"batch_size must be at least 1, got {self.batch_size}"),
        ]
        for ok, message in checks:
            if not ok:
                raise RnnkitError(message)

    def max_lengths(self, lengths: np.ndarray) -> np.ndarray:
        return np.floor(self.max_ratio * lengths + self.max_extra).astype(np.int64)


def decoding_of(training: dict[str, Any]) -> Decoding:
    """How a trained translator searches: the options it was trained with (``beam``, ``length_penalty``,
    ``max_ratio``, ``max_extra``), checked (a model directory's ``config.json`` may have been edited)."""
    options = training.get("options") or {}
    names = {"beam": "beam", "alpha": "length_penalty", "max_ratio": "max_ratio", "max_extra": "max_extra"}
    try:
        values = {field: options.get(option, DEFAULTS[option]) for field, option in names.items()}
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values.values()):
            raise RnnkitError(f"the decoding options must be numbers, got {values}")
        return Decoding(**values)
    except (RnnkitError, AttributeError) as e:
        raise ModelFileError(f"config.json's training options do not say how to translate ({e})") from None


class Translation(NamedTuple):
    """One of the n best translations of a text, with its score (log-probability over the length penalty)."""

    text: str
    score: float


def pad(rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """``(ids [B, S], lengths [B])``, padded with ``<pad>`` (0)."""
    lengths = np.array([len(row) for row in rows], dtype=np.int64)
    ids = np.full((len(rows), max(1, int(lengths.max(initial=1)))), PAD_ID, dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    return ids, lengths


class Translator:
    """A trained translator: ``translate`` texts, ``evaluate`` on a file of pairs (BLEU and chrF)."""

    task = "translate"

    def __init__(
        self,
        config: TranslatorConfig,
        source_pieces: Pieces,
        target_pieces: Pieces,
        decoding: Decoding | None = None,
    ) -> None:
        self.config = config
        self.source_pieces = source_pieces
        self.target_pieces = target_pieces
        self.decoding = decoding or Decoding()

    # ------------------------------------------------------------------------- what a runtime provides
    def encode(self, ids: np.ndarray, lengths: np.ndarray) -> tuple[Arrays, Arrays]:
        """Read sources ``ids`` ``[B, S]`` of ``lengths`` ``[B]`` (each >= 1): the decoder's first ``state`` and its
        ``context``, as :mod:`rnnkit.tasks.translate.search` takes them."""
        raise NotImplementedError

    def attend(self, tokens: np.ndarray, state: Arrays, context: Arrays) -> tuple[np.ndarray, Arrays, np.ndarray]:
        """One decoding step: log-probabilities ``[N, V]`` of the token after ``tokens`` ``[N]``, the new state, and
        the attention weights ``[N, S]`` over the source."""
        raise NotImplementedError

    def step(self, tokens: np.ndarray, state: Arrays, context: Arrays) -> tuple[np.ndarray, Arrays]:
        """:meth:`attend` without the weights: the step the search takes."""
        log_probs, state, _ = self.attend(tokens, state, context)
        return log_probs, state

    def top(self, tokens: np.ndarray, state: Arrays, context: Arrays, k: int) -> tuple[np.ndarray, ...]:
        """The search's step (:data:`rnnkit.tasks.translate.search.Top`): each row's ``k`` best allowed next tokens
        and their log-probabilities, the log-probability of ``</s>``, and the new state. Runtimes find them
        themselves; this finds them in NumPy."""
        return top_of(self.step, BANNED, EOS_ID)(tokens, state, context, k)

    # ----------------------------------------------------------------------------------- translating
    def search(
        self, sources: Sequence[Sequence[int]], beam: int | None = None, n_best: int = 1
    ) -> list[list[Hypothesis]]:
        """The ``n_best`` best translations (as target piece ids) of each source (piece ids), in the input's order."""
        d = self.decoding
        beam = d.beam if beam is None else beam
        if beam < 1 or not 1 <= n_best <= beam:
            raise RnnkitError(f"need --beam >= 1 and 1 <= --n-best <= --beam, got beam {beam} and n-best {n_best}")
        result: list[list[Hypothesis]] = [[Hypothesis([], 0.0, 0.0)] for _ in sources]
        lengths = np.array([len(s) for s in sources], dtype=np.int64)
        present = np.flatnonzero(lengths > 0)
        for batch in length_batches(lengths[present], d.batch_size):
            index = present[batch]
            ids, source_lengths = pad([sources[i] for i in index])
            state, context = self.encode(ids, source_lengths)
            limits = d.max_lengths(source_lengths)
            if beam == 1:
                found = [[h] for h in greedy_search(self.step, state, context, limits, BOS_ID, EOS_ID, BANNED, d.alpha)]
            else:
                found = beam_search(
                    None, state, context, limits, BOS_ID, EOS_ID, beam, n_best, d.alpha, BANNED, self.top
                )
            for i, hypotheses in zip(index, found, strict=True):
                result[i] = hypotheses
        return result

    def translate(
        self, texts: str | Sequence[str], beam: int | None = None, n_best: int = 1
    ) -> str | list[str] | list[list[Translation]]:
        """The translation of each text (one text in, one string out), by beam search (``beam`` 1: greedy);
        with ``n_best`` > 1, each text's ``n_best`` best translations with their scores, best first."""
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        found = self.search(self.source_pieces.encode(texts), beam, n_best)
        if n_best == 1:
            translated = self.target_pieces.decode([hypotheses[0].tokens for hypotheses in found])
            return translated[0] if single else translated
        lists = []
        for hypotheses in found:
            written = self.target_pieces.decode([h.tokens for h in hypotheses])
            lists.append([Translation(text, h.score) for text, h in zip(written, hypotheses, strict=True)])
        return lists

    def attention(self, text: str, translation: str | None = None) -> dict[str, Any]:
        """Where the decoder looked: the source's pieces, the translation's (``translation``, or the model's own by
        beam search) and ``</s>``, and the attention weights ``[target pieces + 1, source pieces]`` of each target
        piece over the source's, read while the decoder is given the translation step by step."""
        source = self.source_pieces.encode([text])[0]
        if not source:
            raise RnnkitError("nothing to translate: the text is empty after normalisation")
        written = self.translate(text) if translation is None else translation
        target = self.target_pieces.encode([written])[0]
        state, context = self.encode(*pad([source]))
        rows = []
        for token in [BOS_ID, *target]:
            _, state, weights = self.attend(np.array([token]), state, context)
            rows.append(weights[0])
        piece = self.target_pieces.processor.id_to_piece
        return {
            "source": [self.source_pieces.processor.id_to_piece(i) for i in source],
            "target": [*(piece(i) for i in target), "</s>"],
            "translation": written,
            "weights": np.stack(rows),
        }

    # ----------------------------------------------------------------------------------- evaluation
    def evaluate(
        self, data: str | Path | Pairs, beam: int | None = None, per_sentence: bool = False, **reading: Any
    ) -> dict[str, Any]:
        """BLEU and chrF (sacreBLEU) on a file of pairs (``reading``: :func:`read_pairs`'s options), each distinct
        source translated once and scored against all its translations in the file; ``per_sentence`` adds each
        source, translation and references."""
        pairs = data if isinstance(data, Pairs) else read_pairs(data, **reading)
        sources, references = group_references(pairs.sources, pairs.targets)
        translations = self.translate(sources, beam)
        report = translation_scores(translations, references)
        report |= {"pairs": len(pairs), "beam": self.decoding.beam if beam is None else beam, "source": pairs.path}
        if per_sentence:
            report["translations"] = [
                {"source": s, "translation": t, "references": r}
                for s, t, r in zip(sources, translations, references, strict=True)
            ]
        return report
