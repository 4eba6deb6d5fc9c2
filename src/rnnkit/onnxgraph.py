"""A trained classifier as an ONNX graph: the same network, built from its config and weights, without torch.

The graph takes ``ids`` ``[B, T]`` (int64 token ids, padded with 0) and ``lengths`` ``[B]`` (int64, each in
``1..T``), and for a network that reads sub-words ``forms`` ``[B, T]`` and ``ngrams`` ``[U, K]``
(:mod:`rnnkit.text.subwords`), and returns ``probabilities`` ``[B, C]``. It is built node by node rather than traced
from torch: the recurrent layers become ONNX's own ``LSTM`` / ``GRU`` / ``RNN`` operators, whose ``sequence_lens``
input runs each sequence over its own tokens only (the backward direction from its own last token), exactly as
:class:`rnnkit.nn.Recurrent` does; pooling is masked the same way, so padding never reaches a result.

Gate order differs between torch and ONNX (LSTM: torch ``i f g o``, ONNX ``i o f c``; GRU: torch ``r z n``,
ONNX ``z r h``), so the weight blocks are reordered here; torch's GRU is ONNX's ``linear_before_reset=1``.

:func:`language_model_graph` builds a language model the same way: ``ids`` and the recurrent state in, the next
token's scores at every position and the state after the last one out. :func:`tagger_graph` builds a tagger: its
character encoder over the batch's distinct spellings, the bidirectional layers with ``sequence_lens``, and each
token's tag scores out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rnnkit.models.config import GATES
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.lm.config import LanguageModelConfig
from rnnkit.tasks.tag.config import TaggerConfig

OPSET = 17  # onnxruntime 1.13 and later; every operator used here has this form from opset 13 to 17
# Positions of torch's gate blocks in ONNX's order.
GATE_ORDER = {"lstm": [0, 3, 1, 2], "gru": [1, 0, 2], "rnn": [0]}


def _reorder(weight: np.ndarray, cell: str, hidden: int) -> np.ndarray:
    """Rows of a torch weight or bias ``[G*H, ...]`` rearranged into ONNX's gate order."""
    blocks = [weight[i * hidden : (i + 1) * hidden] for i in range(GATES[cell])]
    return np.concatenate([blocks[i] for i in GATE_ORDER[cell]])


class _Graph:
    """Collects nodes and initializers; ``op`` adds a node and returns the name of its (first) output.

    With ``external=True`` the network's weights are left out of the graph (marked as external data) and kept
    in ``self.external``, to be handed to onnxruntime as they are: no copy of a large embedding into the graph.
    """

    def __init__(self, external: bool = False) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.external: dict[str, np.ndarray] | None = {} if external else None
        self.count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def weight(self, name: str, value: np.ndarray) -> str:
        if self.external is None:
            return self.const(name, value)
        self.external[name] = np.ascontiguousarray(value, dtype=np.float32)
        tensor = onnx.TensorProto(name=name, data_type=TensorProto.FLOAT, dims=value.shape)
        tensor.data_location = TensorProto.EXTERNAL
        tensor.external_data.add(key="location", value=f"{name}.bin")  # never read: onnxruntime is given the array
        self.initializers.append(tensor)
        return name

    def prune(self, output: str) -> None:
        """Drop the shared nodes and constants that this network does not use (``last`` pooling needs no mask)."""
        needed, kept = {output}, []
        for node in reversed(self.nodes):
            if needed.intersection(node.output):
                needed.update(node.input)
                kept.append(node)
        self.nodes = kept[::-1]
        self.initializers = [t for t in self.initializers if t.name in needed]

    def op(self, kind: str, inputs: list[str], outputs: int = 1, **attributes: Any) -> str | list[str]:
        self.count += 1
        names = [f"{kind.lower()}_{self.count}" + (f"_{i}" if i else "") for i in range(outputs)]
        self.nodes.append(helper.make_node(kind, inputs, names, **attributes))
        return names[0] if outputs == 1 else names


def _recurrent(g: _Graph, prefix: str, c: ClassifierConfig, w: dict[str, np.ndarray], x: str, lens: str):
    """The stacked, possibly bidirectional recurrent layers over ``x`` ``[T, B, E]``: ``([T, B, D*H], [D, B, H])``
    (the top layer's outputs and its final states)."""
    kind = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}[c.cell]
    attributes: dict[str, Any] = {
        "hidden_size": c.hidden_size,
        "direction": "bidirectional" if c.bidirectional else "forward",
    }
    if c.cell == "gru":
        attributes["linear_before_reset"] = 1
    if c.cell == "rnn":
        attributes["activations"] = ["Tanh"] * c.directions
    final = ""
    for layer in range(c.num_layers):
        suffixes = [f"_l{layer}", f"_l{layer}_reverse"][: c.directions]

        def stacked(name: str, suffixes: list[str] = suffixes) -> np.ndarray:
            return np.stack([_reorder(w[f"{prefix}encoder.{name}{s}"], c.cell, c.hidden_size) for s in suffixes])

        weight_ih = g.weight(f"{prefix}W_l{layer}", stacked("weight_ih"))  # [D, G*H, in]
        weight_hh = g.weight(f"{prefix}R_l{layer}", stacked("weight_hh"))  # [D, G*H, H]
        bias = g.weight(f"{prefix}B_l{layer}", np.concatenate([stacked("bias_ih"), stacked("bias_hh")], axis=1))
        y, final = g.op(kind, [x, weight_ih, weight_hh, bias, lens], outputs=2, **attributes)  # [T, D, B, H]
        x = g.op("Reshape", [g.op("Transpose", [y], perm=[0, 2, 1, 3]), "shape_t_b_all"])  # [T, B, D*H]
    return x, final


def _pool(g: _Graph, prefix: str, c: ClassifierConfig, w: dict[str, np.ndarray], outputs: str, final: str, method: str):
    """Pool ``outputs`` ``[T, B, F]`` over each sequence's own positions: ``[B, F]``."""
    if method == "last":  # the final states: forward after the last token, backward after the first
        return g.op("Reshape", [g.op("Transpose", [final], perm=[1, 0, 2]), "shape_b_all"])
    if method == "max":
        return g.op("ReduceMax", [g.op("Where", ["mask", outputs, "minus_inf"])], axes=[0], keepdims=0)
    if method == "mean":
        total = g.op("ReduceSum", [g.op("Mul", [outputs, "mask_float"]), "axis_0"], keepdims=0)
        return g.op("Div", [total, "lengths_float"])
    if method == "attention":
        scores = g.op("MatMul", [outputs, g.weight(f"{prefix}attention", w[f"{prefix}pooling.score.weight"].T)])
        weights = g.op("Softmax", [g.op("Where", ["mask", scores, "minus_inf"])], axis=0)  # [T, B, 1]
        return g.op("ReduceSum", [g.op("Mul", [weights, g.op("Mul", [outputs, "mask_float"])]), "axis_0"], keepdims=0)
    parts = [_pool(g, prefix, c, w, outputs, final, m) for m in ("last", "max", "mean")]  # concat
    return g.op("Concat", parts, axis=1)


def _subwords(g: _Graph, prefix: str, w: dict[str, np.ndarray], x: str) -> str:
    """``x`` ``[T, B, E]`` plus each word's sub-word vector: the mean of the vectors of its n-grams, read from
    ``ngrams`` ``[U, K]`` (the batch's distinct words, padded with 0, whose row is zero) and placed by ``forms``
    ``[B, T]``, as :meth:`rnnkit.models.body.RecurrentBody.subword_vectors` computes it."""
    table = g.weight(f"{prefix}subwords", w[f"{prefix}subwords.weight"])  # [buckets + 1, E]
    total = g.op("ReduceSum", [g.op("Gather", [table, "ngrams"]), "axis_1"], keepdims=0)  # [U, E]
    present = g.op("Cast", [g.op("Less", ["zero", "ngrams"])], to=TensorProto.FLOAT)  # [U, K]
    counts = g.op("Max", [g.op("ReduceSum", [present, "axis_1"], keepdims=1), "one_float"])  # [U, 1]
    words = g.op("Div", [total, counts])  # [U, E]
    return g.op("Add", [x, g.op("Gather", [words, "forms_time_major"])])  # [T, B, E]


def _member(g: _Graph, prefix: str, c: ClassifierConfig, w: dict[str, np.ndarray]) -> str:
    """One network: ``ids`` (and with sub-words ``forms``, ``ngrams``) -> class probabilities ``[B, C]``."""
    x = g.op("Gather", [g.weight(f"{prefix}embedding", w[f"{prefix}embedding.weight"]), "ids_time_major"])  # [T, B, E]
    if c.subwords:
        x = _subwords(g, prefix, w, x)
    if c.model == "bag":  # the mean of the real tokens' embeddings
        total = g.op("ReduceSum", [g.op("Mul", [x, "mask_float"]), "axis_0"], keepdims=0)
        pooled = g.op("Div", [total, "lengths_float"])
    else:
        outputs, final = _recurrent(g, prefix, c, w, x, "lengths_int32")
        pooled = _pool(g, prefix, c, w, outputs, final, c.pooling)
    weight = g.weight(f"{prefix}output_weight", w[f"{prefix}output.weight"])
    logits = g.op("Gemm", [pooled, weight, g.weight(f"{prefix}output_bias", w[f"{prefix}output.bias"])], transB=1)
    return g.op("Softmax", [logits], axis=1)


def classifier_graph(
    config: ClassifierConfig,
    weights: dict[str, np.ndarray],
    metadata: dict[str, str] | None = None,
    external: dict[str, np.ndarray] | None = None,
) -> onnx.ModelProto:
    """The ONNX model of the network ``config`` with ``weights`` (named as in its torch ``state_dict``).

    Given a dict ``external``, the weights are not stored in the model: it is filled with the arrays (in ONNX's
    layout) that onnxruntime must be given as external initializers.
    """
    g = _Graph(external=external is not None)
    g.const("minus_inf", np.array(-np.inf, dtype=np.float32))
    g.const("axis_0", np.array([0], dtype=np.int64))
    g.const("shape_t_b_all", np.array([0, 0, -1], dtype=np.int64))
    g.const("shape_b_all", np.array([0, -1], dtype=np.int64))
    g.const("zero", np.array(0, dtype=np.int64))
    g.const("one", np.array(1, dtype=np.int64))
    g.const("axis_1", np.array([1], dtype=np.int64))
    g.const("axis_2", np.array([2], dtype=np.int64))
    g.const("one_float", np.array(1, dtype=np.float32))
    # Shared by every member: time-major ids, the lengths in the types the operators want, the padding mask.
    g.nodes += [
        helper.make_node("Transpose", ["ids"], ["ids_time_major"], perm=[1, 0]),  # [T, B]
        helper.make_node("Cast", ["lengths"], ["lengths_int32"], to=TensorProto.INT32),
        helper.make_node("Cast", ["lengths"], ["lengths_cast"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["lengths_cast", "axis_1"], ["lengths_float"]),  # [B, 1]
        helper.make_node("Shape", ["ids"], ["ids_shape"]),
        helper.make_node("Gather", ["ids_shape", "one"], ["steps"]),
        helper.make_node("Range", ["zero", "steps", "one"], ["positions"]),  # [T]
        helper.make_node("Unsqueeze", ["positions", "axis_1"], ["positions_column"]),  # [T, 1]
        helper.make_node("Less", ["positions_column", "lengths"], ["valid"]),  # [T, B]
        helper.make_node("Unsqueeze", ["valid", "axis_2"], ["mask"]),  # [T, B, 1]
        helper.make_node("Cast", ["mask"], ["mask_float"], to=TensorProto.FLOAT),
    ]
    inputs = [
        helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "steps"]),
        helper.make_tensor_value_info("lengths", TensorProto.INT64, ["batch"]),
    ]
    if config.subwords:
        g.nodes.append(helper.make_node("Transpose", ["forms"], ["forms_time_major"], perm=[1, 0]))  # [T, B]
        inputs += [
            helper.make_tensor_value_info("forms", TensorProto.INT64, ["batch", "steps"]),
            helper.make_tensor_value_info("ngrams", TensorProto.INT64, ["words", "ngrams_per_word"]),
        ]
    members = [""] if config.members == 1 else [f"members.{i}." for i in range(config.members)]
    member_config = ClassifierConfig(**{**config.to_dict(), "members": 1})
    probabilities = [_member(g, prefix, member_config, weights) for prefix in members]
    g.nodes.append(helper.make_node("Mean" if len(probabilities) > 1 else "Identity", probabilities, ["probabilities"]))
    g.prune("probabilities")
    if external is not None:
        kept = {t.name for t in g.initializers}
        external.update({name: array for name, array in g.external.items() if name in kept})
    graph = helper.make_graph(
        g.nodes,
        "rnnkit_text_classifier",
        inputs,
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", config.num_classes])],
        g.initializers,
    )
    return _model(graph, metadata)


def _language_model_layers(
    g: _Graph, c: LanguageModelConfig, w: dict[str, np.ndarray], x: str
) -> tuple[str, list[list[str]]]:
    """The stacked forward layers over ``x`` ``[T, B, E]`` from the states ``h0`` (and ``c0``) ``[L, B, H]``:
    the top layer's outputs ``[T, B, H]`` and, per layer, its final states (``[h_n]`` or ``[h_n, c_n]``, each
    ``[1, B, H]``). Every sequence runs all T steps, so no ``sequence_lens``."""
    kind = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}[c.cell]
    attributes: dict[str, Any] = {"hidden_size": c.hidden_size, "direction": "forward"}
    if c.cell == "gru":
        attributes["linear_before_reset"] = 1
    if c.cell == "rnn":
        attributes["activations"] = ["Tanh"]
    states = ["h0", "c0"] if c.cell == "lstm" else ["h0"]
    finals: list[list[str]] = []
    for layer in range(c.num_layers):

        def onnx_layout(name: str, layer: int = layer) -> np.ndarray:
            return _reorder(w[f"encoder.{name}_l{layer}"], c.cell, c.hidden_size)[None]  # [1, G*H, ...]

        weight_ih = g.weight(f"W_l{layer}", onnx_layout("weight_ih"))  # [1, G*H, in]
        weight_hh = g.weight(f"R_l{layer}", onnx_layout("weight_hh"))  # [1, G*H, H]
        bias = g.weight(f"B_l{layer}", np.concatenate([onnx_layout("bias_ih"), onnx_layout("bias_hh")], axis=1))
        index = g.const(f"layer_{layer}", np.array([layer], dtype=np.int64))
        start = [g.op("Gather", [s, index]) for s in states]  # this layer's initial states, [1, B, H] each
        y, *final = g.op(kind, [x, weight_ih, weight_hh, bias, "", *start], outputs=1 + len(states), **attributes)
        finals.append(final)  # [1, B, H] each
        x = g.op("Reshape", [y, "shape_t_b_h"])  # [T, 1, B, H] -> [T, B, H]
    return x, finals


def language_model_graph(
    config: LanguageModelConfig,
    weights: dict[str, np.ndarray],
    metadata: dict[str, str] | None = None,
    external: dict[str, np.ndarray] | None = None,
    ngrams: np.ndarray | None = None,
) -> onnx.ModelProto:
    """The ONNX model of the language model ``config`` with ``weights`` (named as in its torch ``state_dict``).

    Inputs ``ids`` ``[B, T]`` (int64; full length, no padding) and ``h0`` ``[L, B, H]`` (float32; zeros at the
    start of a text), and ``c0`` for LSTM; outputs ``logits`` ``[B, T, V]`` (the next token's scores after each
    position) and ``hn`` (and ``cn``) ``[L, B, H]``, the state to feed back as ``h0`` (``c0``). One graph serves
    both reading a prompt (T = its length) and generating (T = 1). A tied decoder is a ``Gemm`` with the
    embedding table itself (``transB``), so the table is stored once. ``external`` as in :func:`classifier_graph`.
    A model that reads sub-words takes ``ngrams`` ``[V, K]``, its vocabulary's
    (:func:`rnnkit.text.subwords.vocabulary_ngrams`), stored in the graph.
    """
    c = config
    g = _Graph(external=external is not None)
    g.const("shape_t_b_h", np.array([0, -1, c.hidden_size], dtype=np.int64))
    g.const("shape_rows_all", np.array([-1, c.hidden_size], dtype=np.int64))
    g.const("minus_one", np.array([-1], dtype=np.int64))
    g.nodes += [
        helper.make_node("Transpose", ["ids"], ["ids_time_major"], perm=[1, 0]),  # [T, B]
        helper.make_node("Shape", ["ids"], ["ids_shape"]),  # [B, T]
        helper.make_node("Concat", ["ids_shape", "minus_one"], ["shape_b_t_all"], axis=0),  # [B, T, -1]
    ]
    embedding = g.weight("embedding", weights["embedding.weight"])  # [V, E]
    x = g.op("Gather", [embedding, "ids_time_major"])  # [T, B, E]
    if c.subwords:
        if ngrams is None:
            raise ValueError("a language model that reads sub-words needs its vocabulary's n-grams")
        table = g.weight("subwords", weights["subwords.weight"])  # [buckets + 1, E]
        spelled = g.op("Gather", [g.const("vocabulary_ngrams", ngrams.astype(np.int64)), "ids_time_major"])  # [T, B, K]
        axis = g.const("axis_2", np.array([2], dtype=np.int64))
        total = g.op("ReduceSum", [g.op("Gather", [table, spelled]), axis], keepdims=0)  # [T, B, E]
        zero = g.const("zero", np.array(0, dtype=np.int64))
        present = g.op("Cast", [g.op("Less", [zero, spelled])], to=TensorProto.FLOAT)  # [T, B, K]
        counts = g.op("ReduceSum", [present, axis], keepdims=1)  # [T, B, 1]
        counts = g.op("Max", [counts, g.const("one_float", np.array(1, dtype=np.float32))])
        x = g.op("Add", [x, g.op("Div", [total, counts])])  # [T, B, E]
    top, finals = _language_model_layers(g, c, weights, x)  # [T, B, H]
    rows = g.op("Reshape", [g.op("Transpose", [top], perm=[1, 0, 2]), "shape_rows_all"])  # [B*T, H]
    if c.projected:
        rows = g.op("Gemm", [rows, g.weight("projection", weights["projection.weight"])], transB=1)  # [B*T, E]
    matrix = embedding if c.tie_weights else g.weight("decoder_weight", weights["decoder.weight"])  # [V, F]
    bias = g.weight("decoder_bias", weights["decoder.bias"])
    scores = g.op("Gemm", [rows, matrix, bias], transB=1)  # [B*T, V]
    g.nodes.append(helper.make_node("Reshape", [scores, "shape_b_t_all"], ["logits"]))  # [B, T, V]
    inputs, outputs = (["h0", "c0"], ["hn", "cn"]) if c.cell == "lstm" else (["h0"], ["hn"])
    for k, name in enumerate(outputs):  # every layer's final state, stacked: [L, B, H]
        g.nodes.append(helper.make_node("Concat", [final[k] for final in finals], [name], axis=0))
    if external is not None:
        external.update(g.external)
    state_shape = [c.num_layers, "batch", c.hidden_size]
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "steps", c.vocab_size])
    graph = helper.make_graph(
        g.nodes,
        "rnnkit_language_model",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "steps"])]
        + [helper.make_tensor_value_info(n, TensorProto.FLOAT, state_shape) for n in inputs],
        [logits] + [helper.make_tensor_value_info(n, TensorProto.FLOAT, state_shape) for n in outputs],
        g.initializers,
    )
    return _model(graph, metadata)


def _model(graph: onnx.GraphProto, metadata: dict[str, str] | None) -> onnx.ModelProto:
    """The ONNX model of ``graph``, readable by onnxruntime 1.13 and later, with ``metadata`` if given."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="rnnkit")
    model.ir_version = 8  # what onnxruntime 1.13+ reads
    if metadata:
        helper.set_model_props(model, metadata)
    return model


def tagger_graph(
    config: TaggerConfig, weights: dict[str, np.ndarray], metadata: dict[str, str] | None = None
) -> onnx.ModelProto:
    """The ONNX model of the tagger ``config`` with ``weights`` (named as in its torch ``state_dict``).

    Inputs ``ids`` ``[B, T]`` (int64, padded with 0) and ``lengths`` ``[B]`` (int64, each in ``1..T``), and where the
    network reads characters, ``forms`` ``[B, T]`` (each token's row of ``chars``), ``chars`` ``[U, L]`` (the
    character ids of the batch's distinct spellings, padded with 0) and ``char_lengths`` ``[U]``; output ``scores``
    ``[B, T, K]``, each token's tag scores (meaningless at padding). A CRF's best sequence is found outside the graph
    (:func:`rnnkit.viterbi.viterbi_decode_batch`), from the same scores.
    """
    c = config
    g = _Graph()
    g.const("shape_t_b_all", np.array([0, 0, -1], dtype=np.int64))
    g.const("shape_b_all", np.array([0, -1], dtype=np.int64))
    g.const("zero", np.array(0, dtype=np.int64))
    g.const("axis_1", np.array([1], dtype=np.int64))
    g.const("one_float", np.array(1, dtype=np.float32))
    g.nodes += [
        helper.make_node("Transpose", ["ids"], ["ids_time_major"], perm=[1, 0]),  # [T, B]
        helper.make_node("Cast", ["lengths"], ["lengths_int32"], to=TensorProto.INT32),
    ]
    x = g.op("Gather", [g.weight("embedding", weights["embedding.weight"]), "ids_time_major"])  # [T, B, E]
    inputs = [
        helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "steps"]),
        helper.make_tensor_value_info("lengths", TensorProto.INT64, ["batch"]),
    ]
    if c.characters is not None or c.subwords:
        g.nodes.append(helper.make_node("Transpose", ["forms"], ["forms_time_major"], perm=[1, 0]))  # [T, B]
        inputs.append(helper.make_tensor_value_info("forms", TensorProto.INT64, ["batch", "steps"]))
    if c.subwords:
        x = _subwords(g, "", weights, x)
        inputs.append(helper.make_tensor_value_info("ngrams", TensorProto.INT64, ["spellings", "ngrams_per_word"]))
    if c.characters is not None:
        _, char_dim, char_hidden = c.characters
        reader = CharacterReader(cell="lstm", hidden_size=char_hidden, bidirectional=True, directions=2, num_layers=1)
        table = g.weight("characters_embedding", weights["characters.embedding.weight"])
        spelled = g.op("Gather", [table, g.op("Transpose", ["chars"], perm=[1, 0])])  # [L, U, C]
        char_lengths = g.op("Cast", ["char_lengths"], to=TensorProto.INT32)
        _, final = _recurrent(g, "characters.", reader, weights, spelled, char_lengths)  # final: [2, U, H]
        words = g.op("Reshape", [g.op("Transpose", [final], perm=[1, 0, 2]), "shape_b_all"])  # [U, 2H]
        forms = g.op("Gather", [words, "forms_time_major"])  # [T, B, 2H]
        x = g.op("Concat", [x, forms], axis=2)  # [T, B, E + 2H]
        inputs += [
            helper.make_tensor_value_info("chars", TensorProto.INT64, ["spellings", "letters"]),
            helper.make_tensor_value_info("char_lengths", TensorProto.INT64, ["spellings"]),
        ]
    outputs, _ = _recurrent(g, "", c, weights, x, "lengths_int32")  # [T, B, D*H]
    scores = g.op("MatMul", [outputs, g.weight("output_weight", weights["output.weight"].T)])  # [T, B, K]
    scores = g.op("Add", [scores, g.weight("output_bias", weights["output.bias"])])
    g.nodes.append(helper.make_node("Transpose", [scores], ["scores"], perm=[1, 0, 2]))  # [B, T, K]
    graph = helper.make_graph(
        g.nodes,
        "rnnkit_sequence_tagger",
        inputs,
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", "steps", c.num_tags])],
        g.initializers,
    )
    return _model(graph, metadata)


@dataclass
class CharacterReader:
    """The character encoder's shape, as :func:`_recurrent` reads a config: one bidirectional LSTM layer."""

    cell: str
    hidden_size: int
    bidirectional: bool
    directions: int
    num_layers: int
