"""BLEU and chrF of translations, computed by sacreBLEU, with every translation of a source as a reference.

sacreBLEU (Post 2018) is the reference implementation that papers quote, with a signature that says exactly how a
figure was computed (tokenizer, casing, smoothing, number of references); computing BLEU by hand invites the small
differences that make figures incomparable. Here BLEU is sacreBLEU's default (cased, ``13a`` tokenization,
exponential smoothing) and chrF its default (character 6-grams, beta 2).

A test set may hold one source several times with different translations (Tatoeba does): the source is translated
once and scored against all of them, as a multi-reference test set is
(:func:`rnnkit.tasks.translate.data.group_references`).
sacreBLEU takes references as streams, one per reference index; a source with fewer references than the most has
``None`` in the streams it lacks, which sacreBLEU skips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def reference_streams(references: Sequence[Sequence[str]]) -> list[list[str | None]]:
    """``references[i]`` (the translations of source ``i``) as sacreBLEU's streams: stream ``j`` holds each
    source's ``j``-th translation, or ``None``."""
    most = max((len(refs) for refs in references), default=0)
    return [[refs[j] if j < len(refs) else None for refs in references] for j in range(most)]


def translation_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, Any]:
    """``bleu`` and ``chrf`` (0-100) of ``hypotheses`` against ``references`` (a list of translations per
    hypothesis), with sacreBLEU's signatures, so that a figure says how it was computed."""
    from sacrebleu.metrics import BLEU, CHRF

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} translations but {len(references)} lists of references")
    if any(not refs for refs in references):
        raise ValueError("every translation needs at least one reference")
    streams = reference_streams(references)
    bleu, chrf = BLEU(), CHRF()
    bleu_score = bleu.corpus_score(list(hypotheses), streams)
    chrf_score = chrf.corpus_score(list(hypotheses), streams)
    return {
        "bleu": bleu_score.score,
        "chrf": chrf_score.score,
        "sentences": len(hypotheses),
        "references": sum(len(refs) for refs in references),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
        "bleu_details": str(bleu_score),
    }
