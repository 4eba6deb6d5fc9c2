"""One text as a trained classifier reads it: the prediction after each token (from the state, or each prefix read
anew), the states and gates at every token, and which tokens mattered (occlusion; integrated gradients through
captum); an ensemble's members each, beside the ensemble's own prediction. And what ``inspect --units`` reads: each
text's word vectors, labelled with the class the network gives the text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.errors import RnnkitError
from rnnkit.inspection.attribution import CAPTUM_NOTE, captum_available, integrated_gradients, occlusion
from rnnkit.inspection.reading import base, states, summary
from rnnkit.inspection.states import rounded
from rnnkit.inspection.units import UnitReading, label_targets
from rnnkit.tasks.classify.network import members_of
from rnnkit.text import PAD_ID, UNK_ID
from rnnkit.text.spellings import Spellings

PREFIX_BATCH = 128  # prefixes read at once for the prediction after each token
BAG_NOTE = "the bag of embeddings averages its word vectors: it has no state to show, only what each word weighs"


def stateless() -> dict[str, Any]:
    return {"stateful": False, "note": BAG_NOTE, "layers": [], "gates": {}}


@dataclass
class ClassifierText:
    """One text as a classifier's inspection reads it: its ``tokens`` (the first ``max_length``; ``truncated`` more
    were cut) and their ``ids`` ``[T]``, which prefixes and occlusion cut, replace by ``<unk>`` or remove.

    A network that reads sub-words must see each remaining token's spelling go with it, so there each token the
    vocabulary lacks gets an id of its own past it (``vocab_size`` + its position); :meth:`inputs` maps every id
    back to the network's id and its spelling. A token replaced by ``<unk>`` has no spelling left: occluded.
    """

    tokens: list[str]
    truncated: int
    ids: Tensor  # [T]
    unknown: list[bool]  # read as <unk>: the network never saw the token in training
    vocab_size: int = 0
    form_of: Tensor | None = None  # [V + T]: the row of ngrams spelling each id (0: none)
    ngrams: Tensor | None = None  # [F + 1, K]

    def inputs(self, ids: Tensor) -> tuple[Tensor, Spellings | None]:
        """The network's ``(ids, spellings)`` for ids of this text ``[B, T]``."""
        if self.form_of is None:
            return ids, None
        network_ids = torch.where(ids >= self.vocab_size, UNK_ID, ids)
        return network_ids, Spellings(self.form_of[ids], ngrams=self.ngrams)

    def probabilities(self, network: nn.Module):
        """``network``'s class probabilities as a function of ``(ids [B, T], lengths [B])`` of this text."""

        def probabilities(ids: Tensor, lengths: Tensor) -> Tensor:
            network_ids, spellings = self.inputs(ids)
            return torch.softmax(network(network_ids, lengths, spellings=spellings), dim=-1)

        return probabilities

    def vectors(self, network: nn.Module) -> Tensor:
        """The word vectors ``[T, F]`` that ``network`` reads (what its layers and integrated gradients take)."""
        network_ids, spellings = self.inputs(self.ids[None])
        return network.embed(network_ids, spellings=spellings)[0]


def classifier_text(pipeline: Any, text: str, budget: int | None = None) -> ClassifierText:
    """``text`` as ``pipeline`` reads it (at most ``budget`` tokens)."""
    tokens = pipeline.tokenizer(text)
    if not tokens:
        raise RnnkitError("the text has no token to inspect: give a text with at least one word")
    kept = tokens[: pipeline.max_length] if pipeline.max_length else tokens
    kept = kept[:budget] if budget is not None else kept
    ids = torch.tensor(pipeline.vocab.encode(kept), dtype=torch.long)
    unknown = [i == UNK_ID for i in ids.tolist()]
    if pipeline.subwords is None:
        return ClassifierText(kept, len(tokens) - len(kept), ids, unknown)
    size = len(pipeline.vocab)
    forms, ngrams = pipeline.subwords.table(kept)
    own = torch.where(ids == UNK_ID, size + torch.arange(len(kept)), ids)
    form_of = torch.zeros(size + len(kept), dtype=torch.long)
    form_of[own] = torch.from_numpy(forms)
    return ClassifierText(
        kept, len(tokens) - len(kept), own, unknown, size, form_of, torch.from_numpy(ngrams.astype(np.int64))
    )


def prefix_probabilities(probabilities, ids: Tensor) -> np.ndarray:
    """The class probabilities ``[T, C]`` after each prefix ``ids[: t + 1]`` of a text ``ids`` ``[T]``, each prefix
    read as a text of its own (padding is ``<pad>`` and the lengths are exact, so nothing after it is seen)."""
    steps = ids.shape[0]
    rows = []
    for start in range(0, steps, PREFIX_BATCH):
        lengths = torch.arange(start + 1, min(start + PREFIX_BATCH, steps) + 1)
        valid = torch.arange(steps)[None, :] < lengths[:, None]
        prefixes = torch.where(valid, ids[None, :], PAD_ID)[:, : int(lengths.max())]
        rows.append(probabilities(prefixes, lengths))
    return torch.cat(rows).numpy()


@torch.no_grad()
def _member(
    network: nn.Module, text: ClassifierText, labels: list[str], attributions: bool
) -> dict[str, Any]:
    probabilities = text.probabilities(network)
    by_prefix = prefix_probabilities(probabilities, text.ids)
    final = by_prefix[-1]
    target = int(final.argmax())
    bag = network.config.model == "bag"
    vectors = text.vectors(network)  # (T, E)
    view: dict[str, Any] = {
        "labels": labels,
        "prediction": {
            "label": labels[target],
            "probabilities": rounded(final),
            "by_prefix": rounded(by_prefix),
            # A forward network's prefix is its state after each token; a bidirectional one reads each prefix anew.
            "method": "prefix" if network.config.bidirectional and not bag else "state",
        },
        **(stateless() if bag else states(network, vectors)),
    }
    view["attributions"] = _attributions([network], probabilities, text, labels, target) if attributions else None
    return view


def _attributions(
    networks: list[nn.Module], probabilities, text: ClassifierText, labels: list[str], target: int
) -> dict:
    """Occlusion of ``probabilities`` (one network's or an ensemble's) and integrated gradients of class
    ``target``. An ensemble's probability is the mean of its members', each reading its own word vectors, and
    integrated gradients are linear in the function explained: the ensemble's are the mean of its members'."""
    found: dict[str, Any] = {"target": labels[target], "occlusion": occlusion(probabilities, text.ids, target)}
    if not captum_available():
        return {**found, "integrated_gradients": None, "note": CAPTUM_NOTE}
    shares = [integrated_gradients(n.read, text.vectors(n), target) for n in networks]
    found["integrated_gradients"] = {
        **shares[0],
        "values": np.mean([s["values"] for s in shares], axis=0).tolist(),
        "delta": max(s["delta"] for s in shares),
    }
    return {**found, "note": None}


def inspect(
    pipeline: Any, text: str, member: int | None = None, attributions: bool = True
) -> dict[str, Any]:
    """The reading of ``text`` by a classifier pipeline; an ensemble's members each (or member ``member``, from 1)."""
    read = classifier_text(pipeline, text)
    tokens, truncated, unknown = read.tokens, read.truncated, read.unknown
    networks = members_of(pipeline.model)
    config = pipeline.model_config
    if member is not None and not 1 <= member <= len(networks):
        raise RnnkitError(f"--member must be in 1..{len(networks)}: the model has {len(networks)} member(s)")
    pipeline.model.eval()
    if len(networks) == 1:
        return {
            **base(text, tokens, truncated, summary(config, "classify"), unknown),
            **_member(networks[0], read, pipeline.labels, attributions),
        }
    chosen = range(1, len(networks) + 1) if member is None else [member]
    views = [
        {
            "model": summary(config, "classify", k),
            **_member(networks[k - 1], read, pipeline.labels, attributions),
        }
        for k in chosen
    ]
    if member is not None:
        return {**base(text, tokens, truncated, views[0].pop("model"), unknown), **views[0]}
    probabilities = read.probabilities(pipeline.model)
    with torch.no_grad():
        by_prefix = prefix_probabilities(probabilities, read.ids)
        target = int(by_prefix[-1].argmax())
        found = _attributions(networks, probabilities, read, pipeline.labels, target) if attributions else None
    ensemble = {
        "label": pipeline.labels[int(by_prefix[-1].argmax())],
        "probabilities": rounded(by_prefix[-1]),
        "by_prefix": rounded(by_prefix),
        "method": "prefix" if config.bidirectional else "state",
    }
    return {
        **base(text, tokens, truncated, summary(config, "classify"), unknown),
        "labels": pipeline.labels,
        "prediction": ensemble,
        "attributions": found,
        "members": views,
    }


def unit_readings(pipeline: Any, member: int | None) -> UnitReading:
    """What ``--units`` reads of a classifier: one network (an ensemble's ``member``, the first by default), each
    text's word vectors labelled at every token with the class the network gives the text."""
    networks = members_of(pipeline.model)
    member = member or 1
    if not 1 <= member <= len(networks):
        raise RnnkitError(f"--member must be in 1..{len(networks)}: the model has {len(networks)} member(s)")
    network = networks[member - 1]
    if network.config.model == "bag":
        raise RnnkitError("the bag of embeddings has no state: --units needs a recurrent model")

    def read(text: str, budget: int) -> Iterator[tuple[Tensor, list[str], list[Any]]]:
        if not pipeline.tokenizer(text):
            return
        found = classifier_text(pipeline, text, budget)
        with torch.no_grad():
            scores = found.probabilities(network)(found.ids[None], torch.tensor([len(found.ids)]))
            vectors = found.vectors(network)
        yield vectors, found.tokens, [pipeline.labels[int(scores.argmax())]] * len(found.tokens)

    return UnitReading(network, read, label_targets("class"), member)
