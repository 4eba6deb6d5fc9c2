"""The toolkit every task's ONNX graph is built with: the same network, from its config and weights, without torch.

A graph is built node by node rather than traced from torch (:class:`Graph`): the recurrent layers become ONNX's
own ``LSTM`` / ``GRU`` / ``RNN`` operators (:func:`recurrent`), whose ``sequence_lens`` input runs each sequence
over its own tokens only (the backward direction from its own last token), exactly as :class:`rnnkit.nn.Recurrent`
does; a word's sub-word vector is the mean of its n-grams' (:func:`subwords`); :func:`model_proto` makes the file.
Each task builds its own graph from these (``rnnkit.tasks.<name>.graph``).

Gate order differs between torch and ONNX (LSTM: torch ``i f g o``, ONNX ``i o f c``; GRU: torch ``r z n``,
ONNX ``z r h``), so the weight blocks are reordered here; torch's GRU is ONNX's ``linear_before_reset=1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rnnkit.models.config import GATES

OPSET = 17  # onnxruntime 1.13 and later; every operator used here has this form from opset 13 to 17
# Positions of torch's gate blocks in ONNX's order.
GATE_ORDER = {"lstm": [0, 3, 1, 2], "gru": [1, 0, 2], "rnn": [0]}


def reorder(weight: np.ndarray, cell: str, hidden: int) -> np.ndarray:
    """Rows of a torch weight or bias ``[G*H, ...]`` rearranged into ONNX's gate order."""
    blocks = [weight[i * hidden : (i + 1) * hidden] for i in range(GATES[cell])]
    return np.concatenate([blocks[i] for i in GATE_ORDER[cell]])


class Graph:
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


def recurrent(g: Graph, prefix: str, c: Any, w: dict[str, np.ndarray], x: str, lens: str):
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
            return np.stack([reorder(w[f"{prefix}encoder.{name}{s}"], c.cell, c.hidden_size) for s in suffixes])

        weight_ih = g.weight(f"{prefix}W_l{layer}", stacked("weight_ih"))  # [D, G*H, in]
        weight_hh = g.weight(f"{prefix}R_l{layer}", stacked("weight_hh"))  # [D, G*H, H]
        bias = g.weight(f"{prefix}B_l{layer}", np.concatenate([stacked("bias_ih"), stacked("bias_hh")], axis=1))
        y, final = g.op(kind, [x, weight_ih, weight_hh, bias, lens], outputs=2, **attributes)  # [T, D, B, H]
        x = g.op("Reshape", [g.op("Transpose", [y], perm=[0, 2, 1, 3]), "shape_t_b_all"])  # [T, B, D*H]
    return x, final


def subwords(g: Graph, prefix: str, w: dict[str, np.ndarray], x: str) -> str:
    """``x`` ``[T, B, E]`` plus each word's sub-word vector: the mean of the vectors of its n-grams, read from
    ``ngrams`` ``[U, K]`` (the batch's distinct words, padded with 0, whose row is zero) and placed by ``forms``
    ``[B, T]``, as :meth:`rnnkit.models.body.RecurrentBody.subword_vectors` computes it."""
    table = g.weight(f"{prefix}subwords", w[f"{prefix}subwords.weight"])  # [buckets + 1, E]
    total = g.op("ReduceSum", [g.op("Gather", [table, "ngrams"]), "axis_1"], keepdims=0)  # [U, E]
    present = g.op("Cast", [g.op("Less", ["zero", "ngrams"])], to=TensorProto.FLOAT)  # [U, K]
    counts = g.op("Max", [g.op("ReduceSum", [present, "axis_1"], keepdims=1), "one_float"])  # [U, 1]
    words = g.op("Div", [total, counts])  # [U, E]
    return g.op("Add", [x, g.op("Gather", [words, "forms_time_major"])])  # [T, B, E]


def forward_layers(g: Graph, c: Any, w: dict[str, np.ndarray], x: str) -> tuple[str, list[list[str]]]:
    """The stacked forward layers of ``c`` (``cell``, ``hidden_size``, ``num_layers``; weights ``encoder.*``) over
    ``x`` ``[T, B, E]`` from the states ``h0`` (and ``c0``) ``[L, B, H]`` (a language model's, a translator's decoder):
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
            return reorder(w[f"encoder.{name}_l{layer}"], c.cell, c.hidden_size)[None]  # [1, G*H, ...]

        weight_ih = g.weight(f"W_l{layer}", onnx_layout("weight_ih"))  # [1, G*H, in]
        weight_hh = g.weight(f"R_l{layer}", onnx_layout("weight_hh"))  # [1, G*H, H]
        bias = g.weight(f"B_l{layer}", np.concatenate([onnx_layout("bias_ih"), onnx_layout("bias_hh")], axis=1))
        index = g.const(f"layer_{layer}", np.array([layer], dtype=np.int64))
        start = [g.op("Gather", [s, index]) for s in states]  # this layer's initial states, [1, B, H] each
        y, *final = g.op(kind, [x, weight_ih, weight_hh, bias, "", *start], outputs=1 + len(states), **attributes)
        finals.append(final)  # [1, B, H] each
        x = g.op("Reshape", [y, "shape_t_b_h"])  # [T, 1, B, H] -> [T, B, H]
    return x, finals


def model_proto(graph: onnx.GraphProto, metadata: dict[str, str] | None) -> onnx.ModelProto:
    """The ONNX model of ``graph``, readable by onnxruntime 1.13 and later, with ``metadata`` if given."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="rnnkit")
    model.ir_version = 8  # what onnxruntime 1.13+ reads
    if metadata:
        helper.set_model_props(model, metadata)
    return model


@dataclass
class Layers:
    """A stack of recurrent layers' shape, as :func:`recurrent` reads a config (a character encoder's: one
    bidirectional LSTM layer)."""

    cell: str
    hidden_size: int
    bidirectional: bool
    directions: int
    num_layers: int
