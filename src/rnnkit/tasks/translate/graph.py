"""A translation network as two ONNX graphs, the encoder and one decoder step, and a translator on onnxruntime.

Beam search is a loop with data-dependent choices (which beams live, when a sentence is done), which ONNX expresses
badly; so the graphs hold the network and the loop stays in NumPy (:mod:`rnnkit.tasks.translate.search`), the very
loop that drives the torch network. Both graphs are built node by node from the config and the weights (no tracing),
with standard operators only; the recurrent layers are ONNX's own ``LSTM`` / ``GRU`` / ``RNN``, written by the
helpers of :mod:`rnnkit.onnxgraph` (gate order reordered, ``sequence_lens`` so that each source runs over its own
tokens, both directions).

``encoder``: ``ids`` ``[B, S]`` (int64, padded with 0), ``lengths`` ``[B]`` -> ``memory`` ``[B, S, F]``, ``keys``
``[B, S, A]`` (the attention's memory-only part), ``h`` (and ``c``) ``[B, L, H]``, the decoder's first state.

``step``: ``tokens`` ``[N]``, ``h`` (``c``) ``[N, L, H]``, ``feed`` ``[N, O]``, ``memory``, ``keys``, ``lengths``
``[N]`` and ``k`` ``[1]`` -> ``log_probs`` ``[N, V]``, the ``k`` best tokens that may be written and their
log-probabilities (``best_tokens``, ``best_log_probs`` ``[N, k]``, by ``TopK``: beam search reads these, not the whole
vocabulary), ``eos_log_prob`` ``[N]``, ``h_out`` (``c_out``), ``feed_out`` and ``weights`` ``[N, S]`` (the attention,
exactly 0 on padding). The state arrays have their rows first, as the search reorders them.

:class:`OnnxTranslator` imports no torch: a saved translator translates where torch is not installed, and its
translations equal torch's (tested).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from rnnkit.onnxgraph import Graph, Layers, forward_layers, model_proto, recurrent
from rnnkit.onnxsessions import session_options
from rnnkit.tasks.translate.config import TranslatorConfig
from rnnkit.tasks.translate.pieces import EOS_ID, Pieces
from rnnkit.tasks.translate.search import Arrays
from rnnkit.tasks.translate.translator import BANNED, Decoding, Translator

FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64


def _value(name: str, kind: int, shape: list[Any]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, kind, shape)


def encoder_graph(
    config: TranslatorConfig, weights: dict[str, np.ndarray], external: dict[str, np.ndarray] | None = None
) -> onnx.ModelProto:
    """The encoder and the bridge (see the module's docstring); ``external`` as in
    :func:`rnnkit.onnxgraph.classifier_graph` (the weights handed to onnxruntime as they are, not copied in)."""
    c = config
    g = Graph(external=external is not None)
    g.const("shape_t_b_all", np.array([0, 0, -1], dtype=np.int64))
    g.const("shape_b_all", np.array([0, -1], dtype=np.int64))
    g.nodes += [
        helper.make_node("Transpose", ["ids"], ["ids_time_major"], perm=[1, 0]),  # [S, B]
        helper.make_node("Cast", ["lengths"], ["lengths_int32"], to=TensorProto.INT32),
    ]
    x = g.op("Gather", [g.weight("embedding", weights["embedding.weight"]), "ids_time_major"])  # [S, B, E]
    reader = Layers(c.cell, c.encoder_hidden_size, c.bidirectional, c.directions, c.encoder_layers)
    outputs, final = recurrent(g, "", reader, weights, x, "lengths_int32")  # [S, B, F], [D, B, He]
    g.nodes.append(helper.make_node("Transpose", [outputs], ["memory"], perm=[1, 0, 2]))  # [B, S, F]
    top = g.op("Reshape", [g.op("Transpose", [final], perm=[1, 0, 2]), "shape_b_all"])  # [B, F]
    bridge = [g.weight("bridge_weight", weights["bridge.weight"]), g.weight("bridge_bias", weights["bridge.bias"])]
    first = g.op("Tanh", [g.op("Gemm", [top, *bridge], transB=1)])  # [B, parts * L * H]
    shape = np.array([0, c.state_parts, c.decoder_layers, c.decoder_hidden_size], dtype=np.int64)
    first = g.op("Reshape", [first, g.const("shape_parts", shape)])  # [B, parts, L, H]
    names = ["h", "c"][: c.state_parts]
    axis = g.const("axis_1", np.array([1], dtype=np.int64))
    for k, name in enumerate(names):
        part = g.op("Gather", [first, g.const(f"part_{k}", np.array([k], dtype=np.int64))], axis=1)  # [B, 1, L, H]
        g.nodes.append(helper.make_node("Squeeze", [part, axis], [name]))  # [B, L, H]
    _keys(g, c, weights, "memory", "keys")
    if external is not None:
        external.update(g.external)
    state = [_value(name, FLOAT, ["batch", c.decoder_layers, c.decoder_hidden_size]) for name in names]
    graph = helper.make_graph(
        g.nodes,
        "rnnkit_translation_encoder",
        [_value("ids", INT64, ["batch", "steps"]), _value("lengths", INT64, ["batch"])],
        [
            _value("memory", FLOAT, ["batch", "steps", c.memory_size]),
            _value("keys", FLOAT, ["batch", "steps", c.decoder_hidden_size]),
            *state,
        ],
        g.initializers,
    )
    return model_proto(graph, None)


def _keys(g: Graph, c: TranslatorConfig, w: dict[str, np.ndarray], memory: str, name: str) -> None:
    """``W_a m`` (Luong) or ``W_k m + b`` (Bahdanau) of every memory vector, as the node ``name``."""
    if c.attention == "luong":
        g.nodes.append(helper.make_node("MatMul", [memory, g.weight("attention", w["attention.weight"].T)], [name]))
        return
    keys = g.op("MatMul", [memory, g.weight("attention_key", w["attention.key.weight"].T)])
    g.nodes.append(helper.make_node("Add", [keys, g.weight("attention_key_bias", w["attention.key.bias"])], [name]))


def _scores(g: Graph, c: TranslatorConfig, w: dict[str, np.ndarray], query: str) -> str:
    """Each source position's score ``[N, S]`` for the decoder's output ``query`` ``[N, H]``."""
    if c.attention == "luong":
        scores = g.op("MatMul", ["keys", g.op("Unsqueeze", [query, "axis_2"])])  # [N, S, 1]
    else:
        projected = g.op("MatMul", [query, g.weight("attention_query", w["attention.query.weight"].T)])  # [N, A]
        hidden = g.op("Tanh", [g.op("Add", ["keys", g.op("Unsqueeze", [projected, "axis_1"])])])  # [N, S, A]
        scores = g.op("MatMul", [hidden, g.weight("attention_v", w["attention.v.weight"].T)])  # [N, S, 1]
    return g.op("Squeeze", [scores, "axis_2"])


def step_graph(
    config: TranslatorConfig, weights: dict[str, np.ndarray], external: dict[str, np.ndarray] | None = None
) -> onnx.ModelProto:
    """One decoder step (see the module's docstring), as
    :meth:`rnnkit.tasks.translate.network.TranslationNetwork.step` computes it."""
    c = config
    g = Graph(external=external is not None)
    for axis in range(3):
        g.const(f"axis_{axis}", np.array([axis], dtype=np.int64))
    g.const("shape_t_b_h", np.array([0, -1, c.decoder_hidden_size], dtype=np.int64))
    g.const("minus_inf", np.array(-np.inf, dtype=np.float32))
    g.const("zero", np.array(0, dtype=np.int64))
    g.const("one", np.array(1, dtype=np.int64))
    names = ["h", "c"][: c.state_parts]
    for name in names:  # the layers read [L, N, H]
        g.nodes.append(helper.make_node("Transpose", [name], [f"{name}0"], perm=[1, 0, 2]))
    table = g.weight("target_embedding", weights["target_embedding.weight"])  # [V, E]
    x = g.op("Gather", [table, "tokens"])  # [N, E]
    if c.input_feeding:
        x = g.op("Concat", [x, "feed"], axis=1)  # [N, E + O]
    decoder = {k.replace("decoder.", "encoder.", 1): v for k, v in weights.items() if k.startswith("decoder.")}
    layers = Layers(c.cell, c.decoder_hidden_size, False, 1, c.decoder_layers)
    top, finals = forward_layers(g, layers, decoder, g.op("Unsqueeze", [x, "axis_0"]))  # [1, N, H]
    query = g.op("Squeeze", [top, "axis_0"])  # [N, H]
    steps = g.op("Gather", [g.op("Shape", ["memory"]), "one"])
    positions = g.op("Unsqueeze", [g.op("Range", ["zero", steps, "one"]), "axis_0"])  # [1, S]
    valid = g.op("Less", [positions, g.op("Unsqueeze", ["lengths", "axis_1"])])  # [N, S]
    scores = g.op("Where", [valid, _scores(g, c, weights, query), "minus_inf"])
    g.nodes.append(helper.make_node("Softmax", [scores], ["weights"], axis=1))  # [N, S]: 0 on padding
    context = g.op("MatMul", [g.op("Unsqueeze", ["weights", "axis_1"]), "memory"])  # [N, 1, F]
    joined = g.op("Concat", [g.op("Squeeze", [context, "axis_1"]), query], axis=1)  # [N, F + H]
    combine = g.weight("combine", weights["combine.weight"].T)  # [F + H, O]
    g.nodes.append(helper.make_node("Tanh", [g.op("MatMul", [joined, combine])], ["feed_out"]))  # [N, O]
    output = table if c.tie_embeddings else g.weight("output_weight", weights["output.weight"])  # [V, O]
    logits = g.op("Gemm", ["feed_out", output, g.weight("output_bias", weights["output.bias"])], transB=1)
    g.nodes.append(helper.make_node("LogSoftmax", [logits], ["log_probs"], axis=1))  # [N, V]
    ban = np.zeros(c.target_vocab_size, dtype=np.float32)
    ban[list(BANNED)] = -np.inf
    allowed = g.op("Add", ["log_probs", g.const("banned", ban)])  # never written: <pad>, <unk>, <s>
    g.nodes.append(helper.make_node("TopK", [allowed, "k"], ["best_log_probs", "best_tokens"], axis=1))  # [N, k]
    end = g.op("Gather", ["log_probs", g.const("eos", np.array([EOS_ID], dtype=np.int64))], axis=1)  # [N, 1]
    g.nodes.append(helper.make_node("Squeeze", [end, "axis_1"], ["eos_log_prob"]))  # [N]
    for k, name in enumerate(names):  # every layer's final state, stacked and rows first: [N, L, H]
        stacked = g.op("Concat", [final[k] for final in finals], axis=0)  # [L, N, H]
        g.nodes.append(helper.make_node("Transpose", [stacked], [f"{name}_out"], perm=[1, 0, 2]))
    if external is not None:
        external.update(g.external)
    state_shape = ["rows", c.decoder_layers, c.decoder_hidden_size]
    graph = helper.make_graph(
        g.nodes,
        "rnnkit_translation_decoder_step",
        [
            _value("tokens", INT64, ["rows"]),
            *[_value(name, FLOAT, state_shape) for name in names],
            _value("feed", FLOAT, ["rows", c.attentional_size]),
            _value("memory", FLOAT, ["rows", "steps", c.memory_size]),
            _value("keys", FLOAT, ["rows", "steps", c.decoder_hidden_size]),
            _value("lengths", INT64, ["rows"]),
            _value("k", INT64, [1]),
        ],
        [
            _value("log_probs", FLOAT, ["rows", c.target_vocab_size]),
            _value("best_log_probs", FLOAT, ["rows", "k"]),
            _value("best_tokens", INT64, ["rows", "k"]),
            _value("eos_log_prob", FLOAT, ["rows"]),
            *[_value(f"{name}_out", FLOAT, state_shape) for name in names],
            _value("feed_out", FLOAT, ["rows", c.attentional_size]),
            _value("weights", FLOAT, ["rows", "steps"]),
        ],
        g.initializers,
    )
    return model_proto(graph, None)


def _session(graph: onnx.ModelProto, arrays: dict[str, np.ndarray], threads: int | None = None) -> Any:
    import onnxruntime

    options = session_options()
    if threads is not None:
        options.intra_op_num_threads = threads
    options.add_external_initializers(
        list(arrays), [onnxruntime.OrtValue.ortvalue_from_numpy(array) for array in arrays.values()]
    )
    return onnxruntime.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])


class OnnxTranslator(Translator):
    """A translation network run by onnxruntime, without torch: the encoder graph once per batch, the step graph
    once per decoding step; ``threads`` (onnxruntime's intra-op threads) by default as many as the cores."""

    def __init__(
        self,
        config: TranslatorConfig,
        source_pieces: Pieces,
        target_pieces: Pieces,
        weights: dict[str, np.ndarray] | None,
        decoding: Decoding | None = None,
        threads: int | None = None,
        sessions: tuple[Any, Any] | None = None,
    ) -> None:
        """The graphs built from ``weights``, or given as onnxruntime ``sessions`` (encoder, step) of an exported
        file."""
        super().__init__(config, source_pieces, target_pieces, decoding)
        self.arrays: dict[str, np.ndarray] = {}  # handed to onnxruntime as they are: they must outlive the sessions
        if sessions is None:
            assert weights is not None
            encoder_arrays: dict[str, np.ndarray] = {}
            step_arrays: dict[str, np.ndarray] = {}
            sessions = (
                _session(encoder_graph(config, weights, encoder_arrays), encoder_arrays, threads),
                _session(step_graph(config, weights, step_arrays), step_arrays, threads),
            )
            self.arrays = {
                **{f"e/{k}": v for k, v in encoder_arrays.items()},
                **{f"s/{k}": v for k, v in step_arrays.items()},
            }
        self.encoder, self.stepper = sessions
        self.state_names = ["h", "c"][: config.state_parts]
        self.state_outputs = [f"{name}_out" for name in self.state_names] + ["feed_out"]

    def __repr__(self) -> str:
        c = self.config
        return (
            f"OnnxTranslator({c.cell.upper()} {c.encoder_layers}+{c.decoder_layers} layers, {c.attention} attention, "
            f"{len(self.source_pieces)} -> {len(self.target_pieces)} pieces)"
        )

    def encode(self, ids: np.ndarray, lengths: np.ndarray) -> tuple[Arrays, Arrays]:
        memory, keys, *state = self.encoder.run(None, {"ids": ids, "lengths": lengths})
        arrays = dict(zip(self.state_names, state, strict=True))
        arrays["feed"] = np.zeros((len(ids), self.config.attentional_size), dtype=np.float32)
        return arrays, {"memory": memory, "keys": keys, "lengths": lengths}

    def _run(self, outputs: list[str], tokens: np.ndarray, state: Arrays, context: Arrays, k: int = 1) -> list:
        feeds = {"tokens": tokens, **context, **state, "k": np.array([k])}
        return self.stepper.run(outputs, {name: np.ascontiguousarray(v) for name, v in feeds.items()})

    def attend(self, tokens: np.ndarray, state: Arrays, context: Arrays) -> tuple[np.ndarray, Arrays, np.ndarray]:
        log_probs, *outputs, weights = self._run(["log_probs", *self.state_outputs, "weights"], tokens, state, context)
        return log_probs, dict(zip([*self.state_names, "feed"], outputs, strict=True)), weights

    def top(self, tokens: np.ndarray, state: Arrays, context: Arrays, k: int) -> tuple[np.ndarray, ...]:
        k = min(k, self.config.target_vocab_size)
        wanted = ["best_log_probs", "best_tokens", "eos_log_prob", *self.state_outputs]
        values, best, end, *outputs = self._run(wanted, tokens, state, context, k)
        return values, best, end, dict(zip([*self.state_names, "feed"], outputs, strict=True))
