"""``rnnkit export``: a saved model as one self-contained ONNX file, checked against torch before it is kept.

The file holds the network (:mod:`rnnkit.onnxgraph`: a classifier takes ``ids`` ``[B, T]`` and ``lengths`` ``[B]``
and gives class ``probabilities`` ``[B, C]``; a language model takes ``ids`` and its state and gives the next
token's ``logits`` at every step and the state after the last; a tagger takes ``ids``, ``lengths`` and the batch's
spellings and gives each token's tag ``scores``) and, as metadata, everything needed to feed it from raw text in any
language: the task, the tokenizer's settings, the vocabulary, a classifier's labels and truncation length, a tagger's
tags, alphabet and CRF transitions (Viterbi runs outside the graph). Before the file is written, the graph is run
by onnxruntime beside the torch network on random padded batches; a difference above ``TOLERANCE`` keeps the file
from being written at all, and an existing file is never replaced unless asked.
:func:`rnnkit.exported.load_exported` reads the file back, checked, for ``rnnkit predict`` and ``rnnkit.load``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit import __version__
from rnnkit.errors import RnnkitError
from rnnkit.io import atomic_write_bytes
from rnnkit.modeldir import FORMAT, FORMAT_VERSION, SavedModel, read_model_dir
from rnnkit.tagger import crf_of
from rnnkit.text.spellings import Spellings
from rnnkit.text.subwords import Subwords, vocabulary_ngrams

CRF_KEYS = ("transitions", "start", "end")  # a CRF's arrays in an exported tagger's metadata

TOLERANCE = 1e-4  # on probabilities (about 1e-7 measured) and a language model's logits and states


def metadata(saved: SavedModel) -> dict[str, str]:
    """What a reader of the ONNX file needs beside the graph, as JSON strings."""
    common = {
        "format": FORMAT,
        "format_version": json.dumps(FORMAT_VERSION),
        "task": saved.task,
        "rnnkit_version": __version__,
        "tokenizer": json.dumps(saved.tokenizer.to_dict()),
        "vocab": json.dumps(saved.vocab.tokens, ensure_ascii=False),
    }
    if saved.task == "tag":
        crf = crf_of(saved.weights)
        return common | {
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
    if saved.task == "lm":
        state = "h0 (and c0 for an LSTM): float32 [layers, batch, hidden], zeros at the start of a text"
        return common | {
            "model": json.dumps(saved.config.to_dict()),
            "inputs": f"ids: int64 [batch, steps], token ids of running text; {state}",
            "outputs": "logits: float32 [batch, steps, vocabulary], the next token's scores after each position; "
            "hn (and cn): the state after the last position, to feed back as h0 (c0)",
        }
    subwords = Subwords.of(saved.config)
    spelled = (
        "; forms: int64 [batch, steps], each token's row of ngrams (0 at padding); ngrams: int64 [words, n], the "
        "buckets of each distinct token's character n-grams (metadata 'subwords'), padded with 0, row 0 all 0"
    )
    return common | {
        "labels": json.dumps(saved.labels, ensure_ascii=False),
        "max_length": json.dumps(saved.max_length),
        "data_columns": json.dumps(saved.training.get("data_columns"), ensure_ascii=False),
        **({"subwords": json.dumps(subwords.to_dict())} if subwords is not None else {}),
        "inputs": "ids: int64 [batch, steps], token ids padded with 0 (<pad>), unknown words 1 (<unk>); "
        "lengths: int64 [batch], each in 1..steps" + (spelled if subwords is not None else ""),
        "outputs": "probabilities: float32 [batch, classes], columns in the order of labels",
    }


def random_batches(vocab_size: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Padded batches of random ids: one text, equal lengths, ragged lengths with 1 and the maximum among them."""
    rng = np.random.default_rng(seed)
    batches = []
    for batch, steps in ((1, 1), (1, 7), (5, 12), (16, 30), (3, 64)):
        lengths = rng.integers(1, steps + 1, batch)
        lengths[0] = steps
        if batch > 2:
            lengths[1] = 1
        ids = rng.integers(1, vocab_size, (batch, steps))
        ids[np.arange(steps)[None, :] >= lengths[:, None]] = 0
        batches.append((ids, lengths))
    batches.append((rng.integers(1, vocab_size, (4, 9)), np.full(4, 9)))  # all T long: torch's one-kernel path
    return batches


def random_spellings(ids: np.ndarray, buckets: int, rng: np.random.Generator) -> Spellings:
    """Sub-words for a batch of ``ids``: each position a random row (row 0, none, at padding) of random n-gram
    buckets, rows of different lengths padded with 0, a full-width row among them."""
    rows = int(rng.integers(2, 8))
    ngrams = rng.integers(1, buckets + 1, (rows, 9))
    ngrams[np.arange(9)[None, :] >= rng.integers(1, 10, rows)[:, None]] = 0
    ngrams[0], ngrams[1] = 0, rng.integers(1, buckets + 1, 9)
    forms = np.where(ids == 0, 0, rng.integers(1, rows, ids.shape))
    return Spellings(forms, ngrams=ngrams)


def largest_difference(saved: SavedModel, model_bytes: bytes) -> float:
    """The largest difference of any probability between onnxruntime on ``model_bytes`` and torch."""
    import onnxruntime

    from rnnkit.runtime import classifier_inputs
    from rnnkit.tasks.classify.pipeline import Pipeline

    torch_network = Pipeline.from_saved(saved, engine="torch")
    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for ids, lengths in random_batches(saved.config.vocab_size):
        spellings = random_spellings(ids, saved.config.subwords, rng) if saved.config.subwords else None
        expected = torch_network.probabilities(ids, lengths, spellings)
        got = session.run(None, classifier_inputs(ids, lengths, spellings))[0]
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def language_model_difference(saved: SavedModel, model_bytes: bytes) -> float:
    """The largest difference of any logit or state between onnxruntime on ``model_bytes`` and torch, reading
    random text from random states and from the start of a text."""
    import onnxruntime

    from rnnkit.generator import OnnxLanguageModelSession
    from rnnkit.tasks.lm.pipeline import LanguageModelPipeline

    torch_network = LanguageModelPipeline.from_saved(saved, engine="torch")
    c = saved.config
    session = OnnxLanguageModelSession(c, onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"]))
    rng = np.random.default_rng(0)
    worst = 0.0
    for batch, steps in ((1, 1), (1, 9), (3, 17)):
        ids = rng.integers(0, c.vocab_size, (batch, steps))
        for state in (None, rng.standard_normal((2 if c.cell == "lstm" else 1, c.num_layers, batch, c.hidden_size))):
            if state is not None:
                state = tuple(state.astype(np.float32)) if c.cell == "lstm" else state[0].astype(np.float32)
            expected, expected_state = torch_network.step(ids, state)
            got, got_state = session(ids, state)
            pairs = [(expected, got)] + list(zip(np.atleast_3d(expected_state), np.atleast_3d(got_state), strict=True))
            worst = max(worst, *(float(np.abs(a - b).max()) for a, b in pairs))
    return worst


def random_sentences(vocab_size: int, seed: int = 0) -> list[list[str]]:
    """Sentences of 1 to 40 made-up tokens (known words, unknown words, long and odd spellings)."""
    rng = np.random.default_rng(seed)
    alphabet = list("abcdefXYZ019.-'") + ["é", "ß", "😀"]
    words = ["".join(rng.choice(alphabet, rng.integers(1, 30))) for _ in range(60)]
    return [list(rng.choice(words, n)) for n in (1, 7, 40, 3, 12, 1, 25)]


def tagger_difference(saved: SavedModel, model_bytes: bytes) -> float:
    """The largest difference of any tag score between onnxruntime on ``model_bytes`` and torch, on made-up
    sentences of ragged lengths."""
    import onnxruntime

    from rnnkit.tagger import OnnxTaggerSession
    from rnnkit.tasks.tag.pipeline import TaggerPipeline
    from rnnkit.text.sentences import sentence_batch

    torch_network = TaggerPipeline.from_saved(saved, engine="torch")
    session = OnnxTaggerSession(
        onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"]),
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
        difference = np.abs(torch_network.scores(batch) - session(batch))[valid]
        worst = max(worst, float(difference.max()))
    return worst


def export_onnx(model_dir: str | Path, output: str | Path, check: bool = True, overwrite: bool = False) -> float | None:
    """Write ``model_dir`` as an ONNX file at ``output``; with ``check``, return the largest difference from
    torch (and write nothing when it exceeds ``TOLERANCE``). An existing ``output`` is refused unless ``overwrite``:
    a model silently replaced by another is a wrong answer nobody sees."""
    output = Path(output)
    if output.is_dir():
        raise RnnkitError(f"{output}: is a directory; name the ONNX file to write, such as {output / 'model.onnx'}")
    if output.exists() and not overwrite:
        raise RnnkitError(
            f"{output}: already exists; nothing was written (--overwrite, or overwrite=True, replaces it)"
        )
    try:
        import onnx
        import onnxruntime  # noqa: F401  (the check runs the graph on it)
    except ImportError:
        raise RnnkitError("rnnkit export needs onnx and onnxruntime: pip install 'rnnkit[onnx]'") from None
    from rnnkit.onnxgraph import classifier_graph, language_model_graph, tagger_graph

    saved = read_model_dir(model_dir)

    def language_model(config: Any, weights: dict[str, np.ndarray], meta: dict[str, str]) -> Any:
        return language_model_graph(config, weights, meta, ngrams=vocabulary_ngrams(config, saved.vocab.tokens))

    build, compare = {
        "lm": (language_model, language_model_difference),
        "tag": (tagger_graph, tagger_difference),
    }.get(saved.task, (classifier_graph, largest_difference))
    model = build(saved.config, saved.weights, metadata(saved))
    onnx.checker.check_model(model, full_check=True)
    data = model.SerializeToString()
    difference = compare(saved, data) if check else None
    if difference is not None and not difference <= TOLERANCE:
        raise RnnkitError(
            f"the exported graph differs from the torch network by {difference:.2e} (over {TOLERANCE:.0e}); "
            f"nothing was written. Please report this with the model's config.json"
        )
    atomic_write_bytes(output, data)
    return difference
