"""One text read by a trained network, token by token: what it predicts as it reads, its state and gates at every
token, and (for a classifier) which tokens mattered. Each task's reading becomes one plain dict, the schema of
which is in :mod:`rnnkit.inspection`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.data.corpus import corpus_tokens
from rnnkit.errors import RnnkitError
from rnnkit.inspection.attribution import CAPTUM_NOTE, captum_available, integrated_gradients, occlusion
from rnnkit.inspection.states import layer_views, rounded
from rnnkit.tasks.classify.network import members_of
from rnnkit.tasks.tag.objective import spelled
from rnnkit.text import PAD_ID, UNK_ID
from rnnkit.text.spellings import Spellings

FORMAT, VERSION = "rnnkit-inspection", 1
TOP_ALTERNATIVES = 5  # a language model's likeliest next tokens shown at each step
PREFIX_BATCH = 128  # prefixes read at once for the prediction after each token
BAG_NOTE = "the bag of embeddings averages its word vectors: it has no state to show, only what each word weighs"


def summary(config: Any, task: str, member: int | None = None) -> dict[str, Any]:
    """What kind of network this is, in the words of ``rnnkit train``'s options."""
    bag = getattr(config, "model", "rnn") == "bag"
    return {
        "task": task,
        "kind": "bag" if bag else "rnn",
        "cell": None if bag else config.cell,
        "bidirectional": bool(getattr(config, "bidirectional", False)) and not bag,
        "layers": 0 if bag else config.num_layers,
        "hidden_size": 0 if bag else config.hidden_size,
        "member": member,
        "members": getattr(config, "members", 1),
    }


def _states(network: nn.Module, vectors: Tensor) -> dict[str, Any]:
    """The traced layers of ``network``'s recurrent stack over the word ``vectors`` ``[T, F]``."""
    layers = layer_views(network.encoder.trace(vectors), network.encoder.num_directions)
    return {"stateful": True, "note": None, "layers": layers, "gates": layers[-1]["gates"]}


def _stateless() -> dict[str, Any]:
    return {"stateful": False, "note": BAG_NOTE, "layers": [], "gates": {}}


def _base(text: str, tokens: list[str], truncated: int, model: dict[str, Any], unknown: list[bool]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "text": text,
        "tokens": tokens,
        "unknown": unknown,  # read as <unk>: the network never saw the token in training
        "truncated": truncated,
        "model": model,
    }


# ------------------------------------------------------------------------------------------- classifier
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
def _classifier_member(
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
        **(_stateless() if bag else _states(network, vectors)),
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


def inspect_classifier(
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
            **_base(text, tokens, truncated, summary(config, "classify"), unknown),
            **_classifier_member(networks[0], read, pipeline.labels, attributions),
        }
    chosen = range(1, len(networks) + 1) if member is None else [member]
    views = [
        {
            "model": summary(config, "classify", k),
            **_classifier_member(networks[k - 1], read, pipeline.labels, attributions),
        }
        for k in chosen
    ]
    if member is not None:
        return {**_base(text, tokens, truncated, views[0].pop("model"), unknown), **views[0]}
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
        **_base(text, tokens, truncated, summary(config, "classify"), unknown),
        "labels": pipeline.labels,
        "prediction": ensemble,
        "attributions": found,
        "members": views,
    }


# ------------------------------------------------------------------------------------------- language model
@torch.no_grad()
def inspect_language_model(pipeline: Any, text: str, top: int = TOP_ALTERNATIVES) -> dict[str, Any]:
    """The reading of ``text`` by a language model: at each token, the probability of the token that really
    follows and the ``top`` likeliest ones, with the states and gates."""
    tokens = corpus_tokens(text, pipeline.tokenizer)
    if not tokens:
        raise RnnkitError("the text has no token to inspect: give a text with at least one character or word")
    network = pipeline.model.eval()
    ids = torch.tensor(pipeline.vocab.encode(tokens), dtype=torch.long)
    logits, _ = network(ids[None])
    p = torch.softmax(logits[0], dim=-1)  # (T, V)
    best = torch.topk(p, min(top, p.shape[1]), dim=-1)
    words = pipeline.vocab.tokens
    following = []
    for t in range(len(tokens)):
        nxt = int(ids[t + 1]) if t + 1 < len(tokens) else None
        following.append(
            {
                "token": tokens[t + 1] if nxt is not None else None,
                "probability": round(float(p[t, nxt]), 6) if nxt is not None else None,
                "top": [
                    [words[int(i)], round(float(q), 6)] for q, i in zip(best.values[t], best.indices[t], strict=True)
                ],
            }
        )
    known = [f["probability"] for f in following if f["probability"] is not None]
    nll = [-math.log(max(q, 1e-12)) for q in known]
    return {
        **_base(text, tokens, 0, summary(pipeline.model_config, "lm"), [i == UNK_ID for i in ids.tolist()]),
        "labels": None,
        "prediction": {"next": following, "perplexity": math.exp(sum(nll) / len(nll)) if nll else None},
        **_states(network, network.embed(ids[None])[0]),
        "attributions": None,
    }


# ------------------------------------------------------------------------------------------- tagger
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
    from rnnkit.tasks.tag.objective import network_inputs
    from rnnkit.text.sentences import sentence_batch

    network = pipeline.model
    ids, lengths, spellings = network_inputs(sentence_batch(pipeline.encode([tokens]), np.array([0])))
    spellings = spellings if spelled(network.config) else None
    with torch.no_grad():
        vectors = network.embed(ids, None, spellings)[0]
    return ids, lengths, spellings, vectors


def inspect_tagger(pipeline: Any, text: str | list[str]) -> dict[str, Any]:
    """The reading of a sentence (a raw string, split by the tagger's tokenizer, or a list of tokens) by a tagger:
    each token's tag and tag distribution, with the states and gates."""
    tokens = pipeline.tokenize(text) if isinstance(text, str) else [str(t) for t in text]
    if not tokens:
        raise RnnkitError("the text has no token to inspect: give a sentence with at least one word")
    network = pipeline.model.eval()
    ids, lengths, spellings, vectors = tagger_inputs(pipeline, tokens)
    with torch.no_grad():
        scores = network(ids, lengths, spellings)
        states = _states(network, vectors)
    distributions = tag_marginals(network, scores, lengths)[0]
    tags = pipeline.tag([tokens])[0]
    return {
        **_base(
            " ".join(tokens) if not isinstance(text, str) else text,
            tokens,
            0,
            summary(pipeline.model_config, "tag"),
            [not pipeline.seen(t) for t in tokens],
        ),
        "labels": list(pipeline.labels),
        "prediction": {"tags": tags, "probabilities": rounded(distributions.detach().numpy())},
        **states,
        "attributions": None,
    }
