"""One sentence as a trained tagger reads it: each token's tag and tag distribution (with a CRF, the exact
marginals), with the states and gates; and what ``inspect --units`` reads: each sentence's word vectors (joined with
their spellings' where it reads characters), labelled with the tags it gives."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.errors import RnnkitError
from rnnkit.inspection.reading import base, states, summary
from rnnkit.inspection.states import rounded
from rnnkit.inspection.units import UnitReading, label_targets
from rnnkit.tasks.tag.objective import network_inputs, spelled
from rnnkit.text.sentences import sentence_batch


def tag_marginals(network: nn.Module, scores: Tensor, lengths: Tensor) -> Tensor:
    """Each token's tag distribution ``[B, T, K]``: the softmax of its scores, or with a CRF the exact marginals
    of the whole-sentence model (the gradient of ``log Z`` with respect to the scores)."""
    if not network.config.crf:
        return torch.softmax(scores, dim=-1)
    with torch.enable_grad():
        emissions = scores.detach().requires_grad_(True)
        (marginals,) = torch.autograd.grad(network.crf.log_partition(emissions, lengths).sum(), emissions)
    return marginals


def tagger_inputs(pipeline: Any, tokens: list[str]) -> tuple[Tensor, Tensor, Any, Tensor]:
    """``(ids, lengths, spellings, vectors [T, F])`` of one sentence as a tagger's network reads it: the word
    vectors joined with their spellings' where it reads characters."""
    network = pipeline.model
    ids, lengths, spellings = network_inputs(sentence_batch(pipeline.encode([tokens]), np.array([0])))
    spellings = spellings if spelled(network.config) else None
    with torch.no_grad():
        vectors = network.embed(ids, None, spellings)[0]
    return ids, lengths, spellings, vectors


def inspect(pipeline: Any, text: str | list[str]) -> dict[str, Any]:
    """The reading of a sentence (a raw string, split by the tagger's tokenizer, or a list of tokens) by a tagger:
    each token's tag and tag distribution, with the states and gates."""
    tokens = pipeline.tokenize(text) if isinstance(text, str) else [str(t) for t in text]
    if not tokens:
        raise RnnkitError("the text has no token to inspect: give a sentence with at least one word")
    network = pipeline.model.eval()
    ids, lengths, spellings, vectors = tagger_inputs(pipeline, tokens)
    with torch.no_grad():
        scores = network(ids, lengths, spellings)
        read = states(network, vectors)
    distributions = tag_marginals(network, scores, lengths)[0]
    tags = pipeline.tag([tokens])[0]
    return {
        **base(
            " ".join(tokens) if not isinstance(text, str) else text,
            tokens,
            0,
            summary(pipeline.model_config, "tag"),
            [not pipeline.seen(t) for t in tokens],
        ),
        "labels": list(pipeline.labels),
        "prediction": {"tags": tags, "probabilities": rounded(distributions.detach().numpy())},
        **read,
        "attributions": None,
    }


def unit_readings(pipeline: Any, member: int | None) -> UnitReading:
    """What ``--units`` reads of a tagger: each sentence's word vectors, each token labelled with its tag."""
    if member is not None:
        raise RnnkitError("--member applies to an ensemble of classifiers; this model is one network")

    def read(text: str, budget: int) -> Iterator[tuple[Tensor, list[str], list[Any]]]:
        words = pipeline.tokenize(text)[:budget]
        if words:
            yield tagger_inputs(pipeline, words)[3], words, pipeline.tag([words])[0]

    return UnitReading(pipeline.model, read, label_targets("tag"))
