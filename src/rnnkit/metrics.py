"""Metrics: a classifier's accuracy, macro-F1, per-class precision/recall/F1/support and confusion matrix; a
sequence tagger's token, unseen-word and sentence accuracy, per-tag figures and (for BIO/BIOES tags) entity-level
figures counted as conlleval counts them; a language model's loss on a text, perplexity and bits per character.

NumPy only, no torch: evaluating a model run by onnxruntime (a model directory or an exported ``.onnx`` file) needs
these figures without importing torch. ``rnnkit.training`` re-exports them for older imports.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``[C, C]`` counts; row = true class, column = predicted class."""
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


def _precision_recall_f1(correct, predicted, support) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 from counts (correct, predicted and true items per class), each 0 where its
    denominator is 0, as conlleval and scikit-learn's ``zero_division=0`` have it: a class never predicted (or never
    present) scores 0 rather than failing, so one table serves every class, entity type and tag."""
    correct = np.asarray(correct, dtype=float)
    predicted, support = np.asarray(predicted), np.asarray(support)
    precision = np.divide(correct, predicted, out=np.zeros_like(correct), where=predicted > 0)
    recall = np.divide(correct, support, out=np.zeros_like(correct), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(correct), where=denom > 0)
    return precision, recall, f1


def _figures(precision, recall, f1, support) -> dict[str, Any]:
    """One row of a per-class (per-tag, per-type) table as plain JSON-ready numbers: NumPy scalars would not
    serialise."""
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1), "support": int(support)}


def classification_report(y_true, y_pred, labels: list[str]) -> dict[str, Any]:
    """Every figure a user asks of a classifier on a labelled set, as plain JSON-ready values."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    matrix = confusion_matrix(y_true, y_pred, len(labels))
    correct = np.diag(matrix).astype(float)
    support = matrix.sum(1)
    precision, recall, f1 = _precision_recall_f1(correct, matrix.sum(0), support)
    present = support > 0  # macro-F1 over the classes that occur in this set
    return {
        "examples": int(len(y_true)),
        "accuracy": float(correct.sum() / max(1, len(y_true))),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {label: _figures(precision[i], recall[i], f1[i], support[i]) for i, label in enumerate(labels)},
        "labels": list(labels),
        "confusion_matrix": matrix.tolist(),
    }


def figure_table(title: str, rows: dict[str, dict[str, Any]]) -> list[str]:
    """Lines of a precision/recall/F1/support table, one row per key: one layout for classes, tags and entity types,
    so that every report in a terminal reads alike."""
    width = max(12, len(title), *(len(name) for name in rows))
    lines = [f"{title:<{width}}  precision  recall      f1  support"]
    for name, c in rows.items():
        lines.append(f"{name:<{width}}  {c['precision']:9.4f}  {c['recall']:6.4f}  {c['f1']:6.4f}  {c['support']:7d}")
    return lines


_CHUNK_PREFIXES = ("B", "I", "E", "S")


def _split_tag(tag: str) -> tuple[str, str] | None:
    """``(prefix, type)`` of a chunk tag: ``("O", "")`` for ``O``, ``("B", "PER")`` for ``B-PER`` (split at the first
    ``-``, as conlleval does, so a type may hold hyphens); ``None`` for anything else (a bare ``PER``, ``U-PER``,
    ``B-``), which is no BIO/BIOES tag."""
    if tag == "O":
        return "O", ""
    prefix, dash, kind = tag.partition("-")
    return (prefix, kind) if prefix in _CHUNK_PREFIXES and dash and kind else None


def tag_chunks(tags: list[str]) -> list[tuple[str, int, int]]:
    """The entity chunks ``(type, start, end)`` (``end`` exclusive) of one sentence's BIO (IOB2), IOB1 or BIOES tags.

    Chunks are read as conlleval (CoNLL-2000's ``conlleval.pl``, its ``startOfChunk``/``endOfChunk``) reads them, so
    that a tagger's entity figures are the ones papers report, invalid sequences included: a chunk starts at ``B-``,
    at ``S-``, at an ``I-``/``E-`` that follows ``O``, ``E-`` or ``S-``, or at any tag whose type differs from the
    previous tag's; it ends after ``E-`` or ``S-``, before ``O``, ``B-`` or ``S-``, and wherever the type changes.
    So ``O I-PER`` is a chunk (as in IOB1 and conlleval) and ``B-PER I-LOC`` two. ``conlleval.pl`` itself predates
    BIOES (it has no ``S-``, and its ``E-`` is IOE's, so it would merge ``E-PER B-PER``); ``S-``/``E-`` are read as
    ``seqeval``'s default (conlleval-like) mode reads them, which agrees with ``conlleval.pl`` on BIO and IOB1.

    Bare tags: ``conlleval.pl`` splits a tag at its first ``-``, so a bare ``PER`` gets prefix ``PER`` and an empty
    type, the type of ``O``: it starts no chunk and ends any open one, in effect an ``O`` (only its ``-r`` mode reads a
    bare tag as ``B-PER``, a one-word chunk). Counting a tag silently as outside would hide a tag set that is not BIO
    or BIOES at all, so here a tag other than ``O`` without a ``B-``/``I-``/``E-``/``S-`` prefix (and a type) raises
    ``ValueError``; :func:`is_chunk_tagging` says beforehand whether a tag set can be read as chunks.

    >>> tag_chunks(["B-PER", "I-PER", "O", "I-LOC", "S-ORG"])
    [('PER', 0, 2), ('LOC', 3, 4), ('ORG', 4, 5)]
    """
    chunks: list[tuple[str, int, int]] = []
    prev, prev_kind, start = "O", "", 0
    for i, tag in enumerate([*tags, "O"]):  # a closing O ends a chunk at the sentence's end
        split = _split_tag(tag)
        if split is None:
            raise ValueError(f"tag {tag!r} at position {i} is neither O nor B-/I-/E-/S- with a type")
        prefix, kind = split
        if prev != "O" and (prev in "ES" or prefix in "BSO" or kind != prev_kind):
            chunks.append((prev_kind, start, i))
        if prefix != "O" and (prefix in "BS" or prev in "OES" or kind != prev_kind):
            start = i
        prev, prev_kind = prefix, kind
    return chunks


def is_chunk_tagging(tag_names: Iterable[str]) -> bool:
    """True when every tag is ``O`` or a ``B-``/``I-``/``E-``/``S-`` prefix with a type, and at least one is not
    ``O``: the tags are BIO (IOB1, IOB2) or BIOES, so entity-level figures apply. Part-of-speech tags and the like
    give False, and are scored per tag only."""
    splits = [_split_tag(tag) for tag in tag_names]
    return bool(splits) and all(s is not None for s in splits) and any(s[0] != "O" for s in splits if s)


def _entity_figures(gold: list[list[str]], predicted: list[list[str]]) -> dict[str, Any]:
    """Entity precision/recall/F1, overall and per type, as conlleval counts them: a predicted chunk is correct when a
    gold chunk has its type, start and end; a chunk with the right words but the wrong type, or the right type but a
    boundary off by one word, counts as one wrong prediction and one missed entity."""
    gold_n, predicted_n, correct_n = Counter(), Counter(), Counter()
    for gold_tags, predicted_tags in zip(gold, predicted, strict=True):
        gold_chunks, predicted_chunks = set(tag_chunks(gold_tags)), set(tag_chunks(predicted_tags))
        gold_n.update(kind for kind, _, _ in gold_chunks)
        predicted_n.update(kind for kind, _, _ in predicted_chunks)
        correct_n.update(kind for kind, _, _ in gold_chunks & predicted_chunks)
    kinds = sorted(gold_n.keys() | predicted_n.keys())
    counts = [[correct_n[k] for k in kinds], [predicted_n[k] for k in kinds], [gold_n[k] for k in kinds]]
    precision, recall, f1 = _precision_recall_f1(*counts)
    (overall_p,), (overall_r,), (overall_f,) = _precision_recall_f1(*([sum(c)] for c in counts))
    return {
        "precision": float(overall_p),
        "recall": float(overall_r),
        "f1": float(overall_f),
        "gold": sum(gold_n.values()),
        "predicted": sum(predicted_n.values()),
        "correct": sum(correct_n.values()),
        "per_type": {k: _figures(precision[i], recall[i], f1[i], gold_n[k]) for i, k in enumerate(kinds)},
    }


def tagging_report(
    gold: list[list[str]], predicted: list[list[str]], tokens: list[list[str]], seen_words: set[str] | None = None
) -> dict[str, Any]:
    """Every figure a user asks of a sequence tagger on a tagged set, as plain JSON-ready values.

    ``gold``, ``predicted`` and ``tokens`` hold one list per sentence, of equal lengths (a mismatch raises
    ``ValueError`` naming the sentence: scoring tags against the wrong words would give figures that look fine and
    mean nothing). Token ``accuracy`` is the usual headline for part-of-speech tagging; ``sentence_accuracy`` (the
    share of sentences tagged entirely right) and accuracy on words the model never saw in training (``seen_words``,
    compared exactly as given, so the caller decides casing) show where it fails: ``unseen_tokens`` and
    ``unseen_accuracy`` are ``None`` without ``seen_words``, and ``unseen_accuracy`` is ``None`` when no token is
    unseen. ``per_tag`` and ``macro_f1`` (over the tags present in gold) are ``classification_report``'s figures with
    each token as an example, and ``confusion_matrix`` its token counts (row = gold tag, column = predicted, in the
    order of ``tags``: every tag of gold or predicted, sorted), which show which tags are taken for which. For
    BIO/BIOES tags (:func:`is_chunk_tagging` of gold and predicted tags together) ``entities`` holds conlleval's
    entity-level figures (see :func:`tag_chunks`), the headline for named entities, where token accuracy is
    inflated by the many ``O`` tokens.
    """
    if not len(gold) == len(predicted) == len(tokens):
        raise ValueError(
            f"{len(gold)} gold sentences, {len(predicted)} predicted, {len(tokens)} tokenized: sentence "
            f"{min(len(gold), len(predicted), len(tokens))} is missing from one of them"
        )
    for i, (gold_tags, predicted_tags, words) in enumerate(zip(gold, predicted, tokens, strict=True)):
        if not len(gold_tags) == len(predicted_tags) == len(words):
            raise ValueError(
                f"sentence {i}: {len(gold_tags)} gold tags, {len(predicted_tags)} predicted tags, {len(words)} tokens"
            )
    gold_flat = [tag for sentence in gold for tag in sentence]
    predicted_flat = [tag for sentence in predicted for tag in sentence]
    tags = sorted(set(gold_flat) | set(predicted_flat))
    index = {tag: i for i, tag in enumerate(tags)}
    per_token = classification_report([index[t] for t in gold_flat], [index[t] for t in predicted_flat], tags)
    unseen_tokens = unseen_accuracy = None
    if seen_words is not None:
        words = [word for sentence in tokens for word in sentence]
        pairs = zip(gold_flat, predicted_flat, words, strict=True)
        unseen = [g == p for g, p, word in pairs if word not in seen_words]
        unseen_tokens = len(unseen)
        unseen_accuracy = sum(unseen) / len(unseen) if unseen else None
    report: dict[str, Any] = {
        "sentences": len(gold),
        "tokens": len(gold_flat),
        "accuracy": per_token["accuracy"],
        "sentence_accuracy": sum(list(g) == list(p) for g, p in zip(gold, predicted, strict=True)) / max(1, len(gold)),
        "unseen_tokens": unseen_tokens,
        "unseen_accuracy": unseen_accuracy,
        "macro_f1": per_token["macro_f1"],
        "per_tag": per_token["per_class"],
        "tags": tags,
        "confusion_matrix": per_token["confusion_matrix"],
    }
    if is_chunk_tagging(tags):
        report["entities"] = _entity_figures(gold, predicted)
    return report


def language_model_figures(loss: float, characters: bool) -> dict[str, float]:
    """A language model's loss in nats per token, its perplexity, and for a character model bits per character."""
    figures = {"loss": loss, "perplexity": math.exp(min(loss, 700.0))}  # exp overflows past 709
    if characters:
        figures["bits_per_character"] = loss / math.log(2)
    return figures


def text_loss(
    step: Callable[[np.ndarray, Any], tuple[np.ndarray, Any]], ids: np.ndarray, streams: int = 8, window: int = 128
) -> tuple[float, np.ndarray]:
    """A language model's mean loss (nats per token) on the token stream ``ids``, and the targets it counted.

    The text is read as ``streams`` parallel streams (fewer for a short text), in windows of ``window`` tokens with
    the state carried, by ``step(ids [B, t], state) -> (logits [B, t, V], state)`` (``state`` ``None`` at the
    start). Stream ``b`` reads its stretch of the text and predicts each next token, the first token of the next
    stretch included, so every token after the text's first is counted once (up to a remainder shorter than
    ``streams``). Training's validation and ``evaluate`` both score a text this way, on torch or onnxruntime.
    """
    streams = max(1, min(streams, (len(ids) - 1) // 2))
    per = (len(ids) - 1) // streams
    inputs = ids[: streams * per].reshape(streams, per)
    targets = ids[1 : streams * per + 1].reshape(streams, per)
    total, state = 0.0, None
    for start in range(0, per, window):
        logits, state = step(inputs[:, start : start + window], state)  # (B, t, V)
        logits = np.asarray(logits, dtype=np.float64)
        top = logits.max(-1, keepdims=True)
        log_z = np.log(np.exp(logits - top).sum(-1)) + top[..., 0]  # (B, t)
        chosen = np.take_along_axis(logits, targets[:, start : start + window, None], -1)[..., 0]
        total += float((log_z - chosen).sum())
    return total / targets.size, targets
