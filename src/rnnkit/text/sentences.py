"""Tokenised sentences to the arrays a tagger reads: word ids, and the spelling of every word as character ids.

Training, evaluation and prediction (torch or onnxruntime) all encode through here, so a sentence becomes the same
numbers everywhere. A batch carries each distinct spelling once (``chars`` ``[U, L]``) and, per position, the row of
its spelling (``forms`` ``[B, T]``): the character encoder then reads 300 spellings instead of 600 tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rnnkit.text.subwords import Subwords
from rnnkit.text.vocab import PAD_ID, Vocab

MAX_WORD_CHARS = 24  # a longer word (a URL) is spelled by its first and last 12 characters: prefix and suffix
IGNORED = -100  # the target at padding: no loss, no score (torch's cross-entropy ignore_index)


def word_key(token: str, lowercase: bool) -> str:
    """The form of ``token`` looked up in the word vocabulary (its spelling keeps the case either way)."""
    return token.lower() if lowercase else token


def spell(token: str, characters: Vocab) -> list[int]:
    """The character ids of ``token``, at most ``MAX_WORD_CHARS`` of them (its first and last halves)."""
    if len(token) > MAX_WORD_CHARS:
        half = MAX_WORD_CHARS // 2
        token = token[:half] + token[-half:]
    return characters.encode(list(token)) or [characters.index.get(" ", 1)]


@dataclass
class EncodedSentences:
    """Sentences as flat arrays (int64): sentence ``i`` is ``ids[offsets[i] : offsets[i] + lengths[i]]``; ``forms``
    gives each token's row in ``spellings``; ``tags`` (or ``None``) each token's tag index."""

    ids: np.ndarray
    forms: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray
    spellings: list[list[int]]  # character ids of each distinct token
    tags: np.ndarray | None = None
    ngrams: np.ndarray | None = None  # [distinct tokens, K]: each one's hashed n-grams, padded with 0 (sub-words)

    def __len__(self) -> int:
        return len(self.lengths)


def encode_sentences(
    sentences: Sequence[Sequence[str]],
    vocab: Vocab,
    characters: Vocab | None,
    lowercase: bool,
    tags: Sequence[Sequence[str]] | None = None,
    tag_index: dict[str, int] | None = None,
    subwords: Subwords | None = None,
) -> EncodedSentences:
    """Encode ``sentences`` (each a non-empty list of tokens) and, if given, their ``tags`` (names in ``tag_index``);
    with ``subwords``, each distinct token's hashed n-grams too (its spelling as the embedding's key sees it)."""
    lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
    if len(sentences) and lengths.min() < 1:
        raise ValueError(f"sentence {int(np.argmin(lengths)) + 1} has no token")
    offsets = np.zeros(len(sentences), dtype=np.int64)
    if len(sentences) > 1:
        np.cumsum(lengths[:-1], out=offsets[1:])
    tokens = [token for sentence in sentences for token in sentence]
    ids = np.array(vocab.encode([word_key(t, lowercase) for t in tokens]), dtype=np.int64)
    rows: dict[str, int] = {}
    forms = np.fromiter((rows.setdefault(t, len(rows)) for t in tokens), dtype=np.int64, count=len(tokens))
    spellings = [spell(t, characters) for t in rows] if characters is not None else []
    flat_tags = None
    if tags is not None:
        flat_tags = np.array([tag_index[tag] for sentence in tags for tag in sentence], dtype=np.int64)
    ngrams = None
    if subwords is not None:
        ngrams = subwords.rows([word_key(t, lowercase) for t in rows])  # a row per distinct token, as ``forms``
    return EncodedSentences(ids, forms, offsets, lengths, spellings, flat_tags, ngrams)


@dataclass
class SentenceBatch:
    """A padded batch: ``ids`` ``[B, T]``, ``lengths`` ``[B]``, ``forms`` ``[B, T]`` (rows of ``chars``),
    ``chars`` ``[U, L]`` and ``char_lengths`` ``[U]`` (the batch's distinct spellings), ``tags`` ``[B, T]``
    (``IGNORED`` at padding) or ``None``."""

    ids: np.ndarray
    lengths: np.ndarray
    forms: np.ndarray
    chars: np.ndarray
    char_lengths: np.ndarray
    tags: np.ndarray | None
    ngrams: np.ndarray | None = None  # [U, K]: the distinct spellings' hashed n-grams (sub-words), padded with 0


def sentence_batch(data: EncodedSentences, index: np.ndarray) -> SentenceBatch:
    """The sentences ``index`` of ``data`` as one padded batch."""
    lengths = data.lengths[index]
    positions = np.arange(lengths.max())
    valid = positions[None, :] < lengths[:, None]  # (B, T)
    flat = np.where(valid, data.offsets[index][:, None] + positions[None, :], 0)
    ids = np.where(valid, data.ids[flat], PAD_ID)
    # The batch's distinct spellings; padding points at row 0 (read, then ignored by the masks downstream).
    distinct, forms = np.unique(np.where(valid, data.forms[flat], data.forms[flat[0, 0]]), return_inverse=True)
    spellings = [data.spellings[i] for i in distinct] if data.spellings else [[PAD_ID]]
    char_lengths = np.fromiter((len(s) for s in spellings), dtype=np.int64, count=len(spellings))
    chars = np.zeros((len(spellings), char_lengths.max()), dtype=np.int64)
    for row, spelling in enumerate(spellings):
        chars[row, : len(spelling)] = spelling
    ngrams = None
    if data.ngrams is not None:  # the same rows as the characters'
        rows = data.ngrams[distinct]
        ngrams = np.ascontiguousarray(rows[:, : max(1, int((rows > 0).sum(1).max()))], dtype=np.int64)
    elif not data.spellings:
        forms = np.zeros_like(ids)
    tags = None if data.tags is None else np.where(valid, data.tags[flat], IGNORED)
    return SentenceBatch(ids, lengths, forms.reshape(ids.shape), chars, char_lengths, tags, ngrams)
