"""A trained sequence tagger's use side: sentences in, a tag for every token out; its figures on a tagged file.

:class:`Tagger` is what every way of running a tagger shares: raw text split into tokens as the training data splits
them, sentences encoded as in training (:mod:`rnnkit.text.sentences`), batches of similar lengths, each sentence
decoded on its own length (per token, or the best sequence under the CRF, by Viterbi outside the network) and put
back in the input's order, evaluation, and tagging a whole file. Subclasses say only how a batch becomes tag
scores: :class:`OnnxTagger` on onnxruntime (no torch), :class:`rnnkit.tasks.tag.pipeline.TaggerPipeline` on torch or
onnxruntime.

A sentence of up to :data:`MAX_PIECE` tokens is tagged whole. A longer one (a text with no line breaks, read as one
sentence) is tagged in overlapping pieces that are joined back, so that memory stays bounded whatever the input: see
:func:`pieces`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.tagged import TaggedCorpus, read_tagged, tagged_from_tokens, write_tagged
from rnnkit.errors import DataError
from rnnkit.metrics import tagging_report
from rnnkit.onnxsessions import session_options
from rnnkit.tasks.tag.config import TaggerConfig
from rnnkit.tasks.tag.viterbi import viterbi_decode_batch
from rnnkit.text import Tokenizer, Vocab
from rnnkit.text.encoding import length_batches
from rnnkit.text.sentences import EncodedSentences, SentenceBatch, encode_sentences, sentence_batch, word_key
from rnnkit.text.subwords import Subwords

Transitions = tuple[np.ndarray, np.ndarray, np.ndarray]  # a CRF's transitions [K, K], start [K], end [K]
CRF_WEIGHTS = ("crf.transitions", "crf.start_transitions", "crf.end_transitions")

# The network's memory grows with the tokens it reads at once: about 15 KB a token for the default tagger (two
# bidirectional LSTM layers of 200) on onnxruntime, so a 1 MB line of 196,000 tokens took 2.9 GB read whole, and a
# 5 MB line 12.6 GB. A sentence longer than MAX_PIECE tokens is therefore read in pieces of MAX_PIECE (the 5 MB line
# then peaks at 430 MB, most of it the line's tokens and tags as Python strings); 1,000 is six times the longest
# sentence of UD English EWT (159 tokens), so a real sentence is still tagged whole, in one pass.
MAX_PIECE = 1_000
# A bidirectional network tags a token from both sides: each piece reads CONTEXT tokens beyond each end of the
# stretch whose tags it keeps (a piece at the sentence's start or end has the sentence's own edge there instead).
# 100 is four times what was needed: the default tagger trained on EWT (3 epochs, 93.4% on dev), given the 4,078
# sentences of EWT dev and test as one line of 50,282 tokens, changed 24 tags of the line read whole with no context,
# 4 with 5 tokens, 2 with 10, none with 25, 50 or 100. The pieces read 25% more tokens than the line, yet ran 1.7
# times as fast on a 1 MB line as the line read whole (tests/apps/test_tagger_app.py checks the join).
CONTEXT = 100
BATCH_TOKENS = 8_192  # padded tokens in one call of the network (about 120 MB for the default tagger)


def pieces(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sentences of ``lengths`` cut into the pieces the network reads: for each piece, its ``sentence``, its ``start``
    and ``length`` within it, and the stretch ``[keep_from, keep_to)`` of the piece whose tags are kept.

    A sentence of up to ``MAX_PIECE`` tokens is one piece, kept whole. A longer one is cut into pieces of
    ``MAX_PIECE`` that overlap by ``2 * CONTEXT``: each keeps its centre, the stretches kept tile the sentence, and
    every kept token has ``CONTEXT`` tokens of the piece on each side, or the sentence's edge. The last piece ends
    at the sentence's end (and so may overlap its neighbour by more).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    whole = np.flatnonzero(lengths <= MAX_PIECE)
    cut: list[tuple[int, int, int, int]] = []  # (sentence, start, keep_from, keep_to) of each piece of MAX_PIECE
    for i in np.flatnonzero(lengths > MAX_PIECE):
        n, kept, begin = int(lengths[i]), 0, 0  # the tags of [0, kept) are taken from earlier pieces
        while begin + MAX_PIECE < n:
            end = begin + MAX_PIECE - CONTEXT  # this piece keeps [kept, end): CONTEXT tokens on either side
            cut.append((i, begin, kept - begin, end - begin))
            kept, begin = end, end - CONTEXT
        begin = n - MAX_PIECE
        cut.append((i, begin, kept - begin, MAX_PIECE))
    rows = np.array(cut, dtype=np.int64).reshape(-1, 4)
    zeros = np.zeros(len(whole), dtype=np.int64)
    sentence = np.concatenate([whole, rows[:, 0]])
    start = np.concatenate([zeros, rows[:, 1]])
    length = np.concatenate([lengths[whole], np.full(len(rows), MAX_PIECE, dtype=np.int64)])
    keep_from = np.concatenate([zeros, rows[:, 2]])
    keep_to = np.concatenate([lengths[whole], rows[:, 3]])
    return sentence, start, length, keep_from, keep_to


def crf_of(weights: dict[str, np.ndarray]) -> Transitions | None:
    """A CRF's three arrays from a tagger's weights, or ``None`` when it has no CRF."""
    return tuple(weights[name] for name in CRF_WEIGHTS) if CRF_WEIGHTS[0] in weights else None  # type: ignore[return-value]


def decode(scores: np.ndarray, lengths: np.ndarray, crf: Transitions | None) -> list[np.ndarray]:
    """Each sentence's tag indices from its scores ``[B, T, K]``, on its own length only: the best tag at each
    token, or with a CRF the best sequence (Viterbi)."""
    if crf is None:
        best = scores.argmax(2)
        return [best[b, :n] for b, n in enumerate(lengths)]
    return viterbi_decode_batch(scores, lengths, *crf)


def tag_encoded(
    data: EncodedSentences,
    scores: Callable[[SentenceBatch], np.ndarray],
    crf: Transitions | None,
    batch_size: int = 64,
) -> list[np.ndarray]:
    """The tag indices of every sentence of ``data``, in its order: batches of similar lengths (at most
    ``batch_size`` sentences and ``BATCH_TOKENS`` padded tokens), each run through ``scores`` (a network: a batch ->
    ``[B, T, K]``) and decoded. A sentence longer than ``MAX_PIECE`` is read in :func:`pieces`, each decoded on its
    own (with a CRF, the best sequence of the piece) and its centre kept."""
    sentence, start, length, keep_from, keep_to = pieces(data.lengths)
    view = replace(data, offsets=data.offsets[sentence] + start, lengths=length)  # the same arrays, cut differently
    result: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(data)
    for index in length_batches(view.lengths, batch_size, BATCH_TOKENS):
        batch = sentence_batch(view, index)
        for piece, tags in zip(index, decode(scores(batch), batch.lengths, crf), strict=True):
            i = sentence[piece]
            if length[piece] == data.lengths[i]:
                result[i] = tags
                continue
            if len(result[i]) == 0:
                result[i] = np.full(data.lengths[i], -1, dtype=np.int64)  # every entry set below
            begin, end = keep_from[piece], keep_to[piece]
            result[i][start[piece] + begin : start[piece] + end] = tags[begin:end]
    return result


def check_tags(corpus: TaggedCorpus, tags: Sequence[str], source: str) -> None:
    """Refuse a file with a tag outside ``tags``, naming its line: a model cannot be scored on a tag it never saw."""
    known = set(tags)
    for sentence in corpus.sentences:
        for i, tag in enumerate(sentence.tags or []):
            if tag not in known:
                shown = ", ".join(list(tags)[:20]) + (" ..." if len(tags) > 20 else "")
                raise DataError(
                    f"{corpus.path} line {sentence.token_line(i)}: tag {tag!r} never occurs in {source} "
                    f"(tags: {shown}); leave it out or train on data that has it"
                )


class Tagger:
    """A trained tagger: ``predict`` tags raw or tokenised sentences, ``evaluate`` scores a tagged file,
    ``tag_file`` writes a tagged copy of a file."""

    task = "tag"

    def __init__(
        self, tokenizer: Tokenizer, vocab: Vocab, characters: Vocab | None, tags: list[str], config: TaggerConfig
    ) -> None:
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.characters = characters
        self.labels = list(tags)
        self.config = config
        self.subwords = Subwords.of(config)  # one for the tagger's life: it remembers the words it has hashed

    @property
    def tags(self) -> list[str]:
        """The tags the model knows, in the order of its scores."""
        return self.labels

    def scores(self, batch: SentenceBatch) -> np.ndarray:
        """Tag scores ``[B, T, K]`` of a padded batch (meaningless at padding)."""
        raise NotImplementedError

    def transitions(self) -> Transitions | None:
        """The CRF's arrays, or ``None`` for a tagger without one."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------ tagging
    def encode(self, sentences: Sequence[Sequence[str]]) -> EncodedSentences:
        return encode_sentences(sentences, self.vocab, self.characters, self.config.lowercase, subwords=self.subwords)

    def tokenize(self, text: str) -> list[str]:
        """``text`` split into tokens as the training data splits them (the model's tokenizer)."""
        return self.tokenizer(text)

    def tag(self, sentences: Sequence[Sequence[str]], batch_size: int = 64) -> list[list[str]]:
        """The tags of tokenised sentences (lists of tokens), one list per sentence; an empty sentence gets none."""
        sentences = [list(s) for s in sentences]
        kept = [i for i, s in enumerate(sentences) if s]
        indices = tag_encoded(self.encode([sentences[i] for i in kept]), self.scores, self.transitions(), batch_size)
        result: list[list[str]] = [[] for _ in sentences]
        for i, tags in zip(kept, indices, strict=True):
            result[i] = [self.labels[t] for t in tags]
        return result

    def predict(
        self, texts: str | Sequence[str] | Sequence[Sequence[str]], batch_size: int = 64
    ) -> list[list[tuple[str, str]]]:
        """``(token, tag)`` pairs for each sentence: a raw string (split by :meth:`tokenize`), a list of them, or a
        list of token lists (already split: ``[["I", "saw", "her"]]``)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        sentences = [self.tokenize(t) if isinstance(t, str) else list(t) for t in texts]
        return [
            list(zip(s, tags, strict=True)) for s, tags in zip(sentences, self.tag(sentences, batch_size), strict=True)
        ]

    def seen(self, token: str) -> bool:
        """Whether the word embedding knows ``token`` (else it is read as ``<unk>``, by its spelling alone)."""
        return word_key(token, self.config.lowercase) in self.vocab

    # ------------------------------------------------------------------------------------ files
    def evaluate(self, data: str | Path | TaggedCorpus, tag_column: str | int | None = None) -> dict[str, Any]:
        """Token accuracy, accuracy on words the model's vocabulary does not hold (``unseen_accuracy``), per-tag
        figures and, for BIO/BIOES tags, entity figures as conlleval counts them, on a tagged file."""
        corpus = data if isinstance(data, TaggedCorpus) else read_tagged(data, tag_column=tag_column)
        check_tags(corpus, self.labels, "the training data")
        predicted = self.tag(corpus.tokens)
        words = {t for s in corpus.tokens for t in s if self.seen(t)}
        report = tagging_report(corpus.tags, predicted, corpus.tokens, words)
        report["source"] = corpus.path
        report["tag_column"] = corpus.tag_column
        return report

    def tag_file(
        self,
        source: str | Path,
        output: str | Path,
        tag_column: str | int | None = None,
        format: str | None = None,
        overwrite: bool = False,
    ) -> TaggedCorpus:
        """Write a tagged copy of ``source`` (CoNLL-U or token per line, tagged or not) to ``output``: every line
        kept, the tag column filled in with the predictions. Returns the corpus read."""
        corpus = read_tagged(source, tag_column=tag_column, require_tags=False)
        write_tagged(corpus, self.tag(corpus.tokens), output, format=format, overwrite=overwrite)
        return corpus

    def write_tagged(
        self, sentences: Sequence[Sequence[str]], output: str | Path, format: str = "conllu", overwrite: bool = False
    ) -> None:
        """Tag tokenised ``sentences`` and write them to ``output`` as CoNLL-U or token per line."""
        corpus = tagged_from_tokens([list(s) for s in sentences])
        write_tagged(corpus, self.tag(corpus.tokens), output, format=format, overwrite=overwrite)


class OnnxTagger(Tagger):
    """A tagger run by onnxruntime, from a model directory or an exported file: no torch."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        vocab: Vocab,
        characters: Vocab | None,
        tags: list[str],
        config: TaggerConfig,
        session: Callable[[SentenceBatch], np.ndarray],
        crf: Transitions | None,
        source: str,
    ) -> None:
        super().__init__(tokenizer, vocab, characters, tags, config)
        self.session = session
        self.crf = crf
        self.source = source

    def __repr__(self) -> str:
        return f"OnnxTagger({self.source}, {len(self.vocab)} words, {len(self.labels)} tags)"

    def scores(self, batch: SentenceBatch) -> np.ndarray:
        return self.session(batch)

    def transitions(self) -> Transitions | None:
        return self.crf


class OnnxTaggerSession:
    """A tagger's network in onnxruntime: a batch in, tag scores ``[B, T, K]`` out."""

    def __init__(self, session: Any, characters: bool, subwords: bool = False) -> None:
        self.session = session
        self.characters = characters
        self.subwords = subwords

    @classmethod
    def build(cls, config: TaggerConfig, weights: dict[str, np.ndarray]) -> OnnxTaggerSession:
        import onnxruntime

        from rnnkit.tasks.tag.graph import tagger_graph

        graph = tagger_graph(config, weights)
        options = session_options()
        session = onnxruntime.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return cls(session, config.characters is not None, bool(config.subwords))

    def __call__(self, batch: SentenceBatch) -> np.ndarray:
        return self.session.run(["scores"], graph_inputs(batch, self.characters, self.subwords))[0]


def graph_inputs(batch: SentenceBatch, characters: bool, subwords: bool = False) -> dict[str, np.ndarray]:
    """A batch as the tagger's ONNX graph takes it (the spellings only where the network reads them: characters,
    sub-words or both, sharing ``forms``)."""
    inputs = {"ids": batch.ids, "lengths": batch.lengths}
    if characters or subwords:
        inputs["forms"] = batch.forms
    if characters:
        inputs |= {"chars": batch.chars, "char_lengths": batch.char_lengths}
    if subwords:
        inputs["ngrams"] = batch.ngrams
    return inputs
