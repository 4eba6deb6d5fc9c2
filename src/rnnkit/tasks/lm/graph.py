"""A language model as an ONNX graph: ``ids`` and the recurrent state in, the next token's scores at every position
and the state after the last one out; one graph for reading a prompt and for generating a token at a time."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from rnnkit.onnxgraph import Graph, forward_layers, model_proto
from rnnkit.tasks.lm.config import LanguageModelConfig


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
    g = Graph(external=external is not None)
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
    top, finals = forward_layers(g, c, weights, x)  # [T, B, H]
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
    return model_proto(graph, metadata)
