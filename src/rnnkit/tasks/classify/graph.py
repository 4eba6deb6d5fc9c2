"""A trained classifier as an ONNX graph: ``ids`` ``[B, T]`` (int64 token ids, padded with 0) and ``lengths``
``[B]`` (int64, each in ``1..T``), and for a network that reads sub-words ``forms`` ``[B, T]`` and ``ngrams``
``[U, K]`` (:mod:`rnnkit.text.subwords`), in; ``probabilities`` ``[B, C]`` out. Pooling is masked as the torch
network masks it, so padding never reaches a result; an ensemble's members' probabilities are averaged."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from rnnkit.onnxgraph import Graph, model_proto, recurrent, subwords
from rnnkit.tasks.classify.config import ClassifierConfig


def _pool(g: Graph, prefix: str, c: ClassifierConfig, w: dict[str, np.ndarray], outputs: str, final: str, method: str):
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


def _member(g: Graph, prefix: str, c: ClassifierConfig, w: dict[str, np.ndarray]) -> str:
    """One network: ``ids`` (and with sub-words ``forms``, ``ngrams``) -> class probabilities ``[B, C]``."""
    x = g.op("Gather", [g.weight(f"{prefix}embedding", w[f"{prefix}embedding.weight"]), "ids_time_major"])  # [T, B, E]
    if c.subwords:
        x = subwords(g, prefix, w, x)
    if c.model == "bag":  # the mean of the real tokens' embeddings
        total = g.op("ReduceSum", [g.op("Mul", [x, "mask_float"]), "axis_0"], keepdims=0)
        pooled = g.op("Div", [total, "lengths_float"])
    else:
        outputs, final = recurrent(g, prefix, c, w, x, "lengths_int32")
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
    g = Graph(external=external is not None)
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
    return model_proto(graph, metadata)
