"""A tagger exported as one ONNX file and read back: its graph (:mod:`rnnkit.tasks.tag.graph`) with its settings,
tags, alphabet and CRF transitions as metadata (Viterbi runs outside the graph); the check of onnxruntime against
torch on made-up sentences of ragged lengths; and the reading of such a file into a torch-free
:class:`~rnnkit.tasks.tag.tagger.OnnxTagger`."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from rnnkit.errors import ModelFileError
from rnnkit.exported import FLOAT, INT64, ExportedFile, check_graph, trial
from rnnkit.modeldir import SavedModel, check_labels
from rnnkit.onnxsessions import session_options
from rnnkit.tasks.tag.config import TaggerConfig
from rnnkit.tasks.tag.tagger import OnnxTagger, OnnxTaggerSession, crf_of
from rnnkit.text import UNK_ID, Vocab
from rnnkit.text.sentences import SentenceBatch

CRF_KEYS = ("transitions", "start", "end")  # a CRF's arrays in an exported tagger's metadata


def metadata(saved: SavedModel) -> dict[str, str]:
    crf = crf_of(saved.weights)
    return {
        "model": json.dumps(saved.config.to_dict()),
        "labels": json.dumps(saved.labels, ensure_ascii=False),
        "characters": json.dumps(saved.characters.tokens if saved.characters else None, ensure_ascii=False),
        "crf": json.dumps(None if crf is None else dict(zip(CRF_KEYS, (a.tolist() for a in crf), strict=True))),
        "inputs": "ids: int64 [batch, steps], word ids padded with 0 (<pad>), unknown words 1 (<unk>); lengths: "
        "int64 [batch], each in 1..steps; with characters: forms int64 [batch, steps], each token's row of chars; "
        "chars int64 [spellings, letters], the character ids of each distinct token, padded with 0; char_lengths "
        "int64 [spellings]",
        "outputs": "scores: float32 [batch, steps, tags], each token's tag scores (argmax: the tag); with a crf "
        "(metadata 'crf': transitions, start, end), the best sequence by Viterbi over these scores",
    }


def graph(saved: SavedModel, shared: dict[str, str]) -> Any:
    from rnnkit.tasks.tag.graph import tagger_graph

    return tagger_graph(saved.config, saved.weights, {**shared, **metadata(saved)})


def random_sentences(vocab_size: int, seed: int = 0) -> list[list[str]]:
    """Sentences of 1 to 40 made-up tokens (known words, unknown words, long and odd spellings)."""
    rng = np.random.default_rng(seed)
    alphabet = list("abcdefXYZ019.-'") + ["é", "ß", "😀"]
    words = ["".join(rng.choice(alphabet, rng.integers(1, 30))) for _ in range(60)]
    return [list(rng.choice(words, n)) for n in (1, 7, 40, 3, 12, 1, 25)]


def difference(saved: SavedModel, model_bytes: bytes) -> float:
    """The largest difference of any tag score between onnxruntime on ``model_bytes`` and torch, on made-up
    sentences of ragged lengths."""
    import onnxruntime

    from rnnkit.tasks.tag.pipeline import TaggerPipeline
    from rnnkit.text.sentences import sentence_batch

    torch_network = TaggerPipeline.from_saved(saved, engine="torch")
    session = OnnxTaggerSession(
        onnxruntime.InferenceSession(model_bytes, session_options(), providers=["CPUExecutionProvider"]),
        saved.characters is not None,
        bool(saved.config.subwords),
    )
    sentences = random_sentences(saved.config.vocab_size)
    sentences.append(saved.vocab.tokens[2:30] or ["word"])  # words the model knows
    data = torch_network.encode(sentences)
    worst = 0.0
    for index in (np.arange(len(data)), np.array([0]), np.array([2, 1])):
        batch = sentence_batch(data, index)
        valid = np.arange(batch.ids.shape[1])[None, :] < batch.lengths[:, None]
        found = np.abs(torch_network.scores(batch) - session(batch))[valid]
        worst = max(worst, float(found.max()))
    return worst


def read(exported: ExportedFile) -> OnnxTagger:
    """An exported tagger: its metadata (configuration, tags, alphabet, CRF) checked against each other and the
    graph, and one trial run on the largest word id and character id."""
    vocab, path = exported.vocab, exported.path
    try:
        settings = exported.value("model")
        if not isinstance(settings, dict):
            raise ValueError("model must be an object")
        config = TaggerConfig.from_dict(settings)
        tags = check_labels(exported.value("labels"))
        alphabet = exported.value("characters")
        characters = Vocab.from_dict({"tokens": alphabet}) if config.alphabet_size else None
        crf = _crf(exported.value("crf"), len(tags)) if config.crf else None
        if config.vocab_size != len(vocab) or config.num_tags != len(tags):
            raise ValueError(f"the model was built for {config.vocab_size} words and {config.num_tags} tags")
        if characters is not None and len(characters) != config.alphabet_size:
            raise ValueError(f"the model was built for {config.alphabet_size} characters, not {len(characters)}")
    except (TypeError, ValueError) as e:
        raise exported.invalid(e) from None
    inputs = {"ids": INT64, "lengths": INT64}
    if characters is not None or config.subwords:
        inputs["forms"] = INT64
    if characters is not None:
        inputs |= {"chars": INT64, "char_lengths": INT64}
    if config.subwords:
        inputs["ngrams"] = INT64
    check_graph(exported, inputs, {"scores": FLOAT}, (config.alphabet_size, config.subwords + 1))
    largest = max(len(characters) - 1, 1) if characters is not None else 1
    batch = SentenceBatch(
        np.array([[len(vocab) - 1, UNK_ID]]), np.array([2]), np.array([[0, 1]]), np.array([[largest], [1]]),
        np.array([1, 1]), None, np.array([[config.subwords], [0]]) if config.subwords else None,
    )  # fmt: skip
    session = trial(
        exported, lambda: OnnxTaggerSession(exported.session(), characters is not None, bool(config.subwords))
    )
    scores = trial(exported, lambda: session(batch))
    if not isinstance(scores, np.ndarray) or scores.shape != (1, 2, len(tags)) or not np.isfinite(scores).all():
        shape = getattr(scores, "shape", type(scores).__name__)
        raise ModelFileError(f"{path}: the network gives {shape} scores for two tokens, not {len(tags)} finite each")
    return OnnxTagger(exported.tokenizer, vocab, characters, tags, config, session, crf, str(path))


def _crf(value: Any, tags: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A CRF's arrays from an exported tagger's metadata, checked: finite, ``[K, K]``, ``[K]``, ``[K]``."""
    if not isinstance(value, dict) or set(value) != {"transitions", "start", "end"}:
        raise ValueError("crf must be an object of transitions, start and end")
    arrays = tuple(np.asarray(value[k], dtype=np.float32) for k in CRF_KEYS)
    if [a.shape for a in arrays] != [(tags, tags), (tags,), (tags,)] or not all(np.isfinite(a).all() for a in arrays):
        raise ValueError(f"crf must hold finite scores for {tags} tags")
    return arrays  # type: ignore[return-value]
