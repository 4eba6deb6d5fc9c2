"""A tagger as an ONNX graph: its character encoder over the batch's distinct spellings, the bidirectional layers
with ``sequence_lens``, and each token's tag scores out; a CRF's best sequence is found outside the graph."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from rnnkit.onnxgraph import Graph, Layers, model_proto, recurrent, subwords
from rnnkit.tasks.tag.config import TaggerConfig


def tagger_graph(
    config: TaggerConfig, weights: dict[str, np.ndarray], metadata: dict[str, str] | None = None
) -> onnx.ModelProto:
    """The ONNX model of the tagger ``config`` with ``weights`` (named as in its torch ``state_dict``).

    Inputs ``ids`` ``[B, T]`` (int64, padded with 0) and ``lengths`` ``[B]`` (int64, each in ``1..T``), and where the
    network reads characters, ``forms`` ``[B, T]`` (each token's row of ``chars``), ``chars`` ``[U, L]`` (the
    character ids of the batch's distinct spellings, padded with 0) and ``char_lengths`` ``[U]``; output ``scores``
    ``[B, T, K]``, each token's tag scores (meaningless at padding). A CRF's best sequence is found outside the graph
    (:func:`rnnkit.tasks.tag.tagger.viterbi_decode_batch`), from the same scores.
    """
    c = config
    g = Graph()
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
        x = subwords(g, "", weights, x)
        inputs.append(helper.make_tensor_value_info("ngrams", TensorProto.INT64, ["spellings", "ngrams_per_word"]))
    if c.characters is not None:
        _, char_dim, char_hidden = c.characters
        reader = Layers(cell="lstm", hidden_size=char_hidden, bidirectional=True, directions=2, num_layers=1)
        table = g.weight("characters_embedding", weights["characters.embedding.weight"])
        spelled = g.op("Gather", [table, g.op("Transpose", ["chars"], perm=[1, 0])])  # [L, U, C]
        char_lengths = g.op("Cast", ["char_lengths"], to=TensorProto.INT32)
        _, final = recurrent(g, "characters.", reader, weights, spelled, char_lengths)  # final: [2, U, H]
        words = g.op("Reshape", [g.op("Transpose", [final], perm=[1, 0, 2]), "shape_b_all"])  # [U, 2H]
        forms = g.op("Gather", [words, "forms_time_major"])  # [T, B, 2H]
        x = g.op("Concat", [x, forms], axis=2)  # [T, B, E + 2H]
        inputs += [
            helper.make_tensor_value_info("chars", TensorProto.INT64, ["spellings", "letters"]),
            helper.make_tensor_value_info("char_lengths", TensorProto.INT64, ["spellings"]),
        ]
    outputs, _ = recurrent(g, "", c, weights, x, "lengths_int32")  # [T, B, D*H]
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
    return model_proto(graph, metadata)
