"""``Recurrent``: a cell run over a padded batch, stacked and bidirectional, exact on every length.

Two backends share one set of parameters, named and laid out as in ``torch.nn.LSTM/GRU/RNN``:

* ``fused`` (the fast path) hands each stretch of time to torch's fused kernel (oneDNN on CPU, cuDNN on GPU).
  To stay exact on ragged batches it sorts the batch by length and cuts time at each distinct length: every
  stretch runs only the sequences still going, starting from the states where the previous stretch stopped.
  A length-bucketed batch has few distinct lengths, so this is a handful of kernel calls; no
  ``pack_padded_sequence``, whose backward pass is slow on a CPU.
* ``explicit`` (the readable path) runs the cell formulas of :mod:`rnnkit.nn.cells` step by step, with the input
  projection of all time steps done as one matrix product and a mask that freezes each finished sequence.

The backward direction is the forward algorithm run on each sequence reversed within its own length, so the
backward state of a sequence starts at its own last token, never on padding.

On a CUDA device the parameters of each layer and direction live in one flat buffer of their own
(:meth:`Recurrent.flatten_parameters`), the layout cuDNN uses in place; otherwise cuDNN copies them into one at every
call and warns that they are "not part of single contiguous chunk of memory".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.nn.cells import GATES, NONLINEARITIES, SIGMOID_GATES, gru_step, lstm_step, rnn_step
from rnnkit.nn.dropout import dropout

CELLS = tuple(GATES)
BACKENDS = ("fused", "explicit")
State = Tensor | tuple[Tensor, Tensor]


@dataclass
class LengthPlan:
    """How a ragged batch is cut: computed once per forward, shared by every layer and direction.

    ``order`` sorts the batch by decreasing length (``None`` when all lengths equal T); ``segments`` are
    ``(start, stop, active)``: time steps ``start:stop`` run for the first ``active`` sorted sequences;
    ``reverse_index[b, t]`` maps each position to its mirror within the sequence's own length.
    """

    lengths: Tensor | None  # [B] on the input's device, in sorted order
    order: Tensor | None
    restore: Tensor | None
    segments: list[tuple[int, int, int]]
    reverse_index: Tensor | None

    @classmethod
    def build(cls, lengths: Tensor | None, batch: int, steps: int, device: torch.device) -> LengthPlan:
        if lengths is None or bool((lengths == steps).all()):
            return cls(None, None, None, [(0, steps, batch)], None)
        sorted_lengths, order = torch.sort(lengths.cpu(), descending=True, stable=True)
        restore = torch.empty_like(order)
        restore[order] = torch.arange(batch)
        host = sorted_lengths.tolist()
        segments, start = [], 0
        for stop in sorted(set(host)):
            segments.append((start, stop, sum(1 for n in host if n >= stop)))
            start = stop
        positions = torch.arange(steps)
        mirrored = sorted_lengths[:, None] - 1 - positions[None, :]
        reverse_index = torch.where(positions[None, :] < sorted_lengths[:, None], mirrored, positions[None, :])
        return cls(sorted_lengths.to(device), order.to(device), restore.to(device), segments, reverse_index.to(device))

    def reverse(self, x: Tensor) -> Tensor:
        """Reverse each sequence of ``x`` ``[B, T, F]`` within its own length; padding stays in place."""
        if self.reverse_index is None:
            return x.flip(1)
        index = self.reverse_index[:, :, None].expand(-1, -1, x.shape[2])
        return x.gather(1, index)


class Recurrent(nn.Module):
    """A recurrent layer stack over batch-first, padded input, exact for every sequence length.

    Args:
        cell: ``"lstm"``, ``"gru"`` or ``"rnn"``.
        input_size: features per time step, F.
        hidden_size: state size per direction, H.
        num_layers: stacked layers, L; layer ``k+1`` reads the outputs of layer ``k``.
        bidirectional: also run each sequence backwards (D = 2) and join both outputs.
        dropout: dropout on the outputs of every layer but the last, in training mode only.
        weight_drop: DropConnect on the hidden-to-hidden matrices ``weight_hh*`` (AWD-LSTM, Merity et al. 2017),
            in training mode only: each forward call zeroes each of their entries with this probability and
            scales the rest by ``1/(1-p)``; the same dropped matrix then serves every time step, so the
            recurrence itself is regularised while the fused kernels still run. The raw weights are what is
            saved and what evaluation uses; gradients reach them through the mask.
        nonlinearity: ``"tanh"`` or ``"relu"``, for ``cell="rnn"``.
        backend: ``"fused"`` (torch's kernels) or ``"explicit"`` (the cell formulas in a loop).

    Shapes:
        ``x`` ``[B, T, F]``; ``lengths`` ``[B]`` integers in ``1..T`` (``None``: all T), on any device;
        ``state`` ``h_0`` ``[L*D, B, H]``, or ``(h_0, c_0)`` for LSTM (zeros if omitted).
        Returns ``outputs`` ``[B, T, D*H]`` (exactly zero at padded positions) and ``final``: ``h_n``
        ``[L*D, B, H]``, or ``(h_n, c_n)`` for LSTM, ordered as torch orders them (layer 0 forward, layer 0
        backward, layer 1 forward, ...). The forward final state of a sequence is its state after its own last
        token; the backward one is its state after its first token.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
        bias: bool = True,
        backend: str = "fused",
        weight_drop: float = 0.0,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
        if input_size <= 0 or hidden_size <= 0 or num_layers <= 0:
            raise ValueError(
                f"input_size, hidden_size and num_layers must be positive, "
                f"got {input_size}, {hidden_size}, {num_layers}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if not 0.0 <= weight_drop < 1.0:
            raise ValueError(f"weight_drop must be in [0, 1), got {weight_drop}")
        self.cell = cell
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.dropout = dropout
        self.weight_drop = weight_drop
        self.nonlinearity = nonlinearity
        self.bias = bias
        self.backend = backend
        rows = GATES[cell] * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in self._suffixes(layer):
                self.register_parameter(f"weight_ih{suffix}", nn.Parameter(torch.empty(rows, layer_input)))
                self.register_parameter(f"weight_hh{suffix}", nn.Parameter(torch.empty(rows, hidden_size)))
                if bias:
                    self.register_parameter(f"bias_ih{suffix}", nn.Parameter(torch.empty(rows)))
                    self.register_parameter(f"bias_hh{suffix}", nn.Parameter(torch.empty(rows)))
        self.reset_parameters()

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.num_directions]

    def reset_parameters(self) -> None:
        """Uniform in ``±1/sqrt(H)``, as torch initialises its recurrent layers."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def flatten_parameters(self) -> None:
        """Lay each layer and direction's parameters (``weight_ih, weight_hh, bias_ih, bias_hh``) end to end in one
        new tensor of their own and make the parameters views of it; the same ``Parameter`` objects stay, so
        optimisers and state dicts are unaffected.

        Why: cuDNN runs on the weights in place only if one call's weights lie, in order, from the start of one
        storage, as ``torch._cudnn_rnn_flatten_weight`` lays them out; otherwise it copies them into a fresh buffer
        at every call (and warns). The fused backend calls the kernel once per layer and direction on ragged
        batches, so one buffer per layer and direction serves every such call. Without biases the buffer ends with
        the zeros cuDNN keeps in their place. Done automatically when the module moves to a CUDA device (see
        :meth:`_apply`); works on any device, and changes no value.
        """
        with torch.no_grad():
            for layer in range(self.num_layers):
                for suffix in self._suffixes(layer):
                    params = self._weights(suffix, training=False)
                    size = sum(p.numel() for p in params)
                    spare = 0 if self.bias else 2 * params[1].shape[0]  # cuDNN's bias slots, zero without biases
                    buffer = params[0].new_zeros(size + spare)
                    offset = 0
                    for p in params:
                        view = buffer[offset : offset + p.numel()].view_as(p)
                        view.copy_(p)
                        p.data = view
                        offset += p.numel()

    def _is_flat(self) -> bool:
        """Whether every layer and direction's parameters lie, in order, from the start of one storage of their own
        (as :meth:`flatten_parameters` leaves them, and as cuDNN can use them in place)."""
        for layer in range(self.num_layers):
            for suffix in self._suffixes(layer):
                params = self._weights(suffix, training=False)
                start = params[0].untyped_storage().data_ptr()
                at = start
                for p in params:
                    if p.untyped_storage().data_ptr() != start or p.data_ptr() != at or not p.is_contiguous():
                        return False
                    at += p.numel() * p.element_size()
        return True

    def _apply(self, fn: Any, recurse: bool = True) -> Recurrent:
        """After ``.to()``, ``.cuda()``, ``.half()``, ...: on a CUDA device, rebuild the flat buffers, which a move
        or a cast does not keep (each parameter is moved or cast on its own). Elsewhere the parameters stay
        ordinary, independent tensors: the CPU kernels gain nothing from a flat buffer."""
        module = super()._apply(fn, recurse)
        if all(p.is_cuda for p in self.parameters(recurse=False)):
            self.flatten_parameters()
        return module

    def _weights(self, suffix: str, training: bool | None = None) -> list[Tensor]:
        """The weights of one layer and direction as this forward call uses them. Called once per layer and
        direction per call, so with ``weight_drop`` each call draws one DropConnect mask per ``weight_hh``,
        shared by every time step."""
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        weights = [getattr(self, name + suffix) for name in names]
        if self.weight_drop > 0 and (self.training if training is None else training):
            weights[1] = dropout(weights[1], self.weight_drop)  # (G*H, H): W_hh with entries dropped
        return weights

    @property
    def output_size(self) -> int:
        return self.hidden_size * self.num_directions

    def extra_repr(self) -> str:
        return (
            f"{self.cell}, {self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"bidirectional={self.bidirectional}, dropout={self.dropout}, backend={self.backend!r}"
            + (f", weight_drop={self.weight_drop}" if self.weight_drop else "")
        )

    # ----------------------------------------------------------------------------------------- checks
    def _check(self, x: Tensor, lengths: Tensor | None, state: State | None) -> Tensor | None:
        if x.dim() != 3:
            raise ValueError(f"Recurrent: input must be [B, T, F] (batch first), got shape {tuple(x.shape)}")
        batch, steps, features = x.shape
        if features != self.input_size:
            raise ValueError(f"Recurrent: input has {features} features per step, expected {self.input_size}")
        if batch == 0 or steps == 0:
            raise ValueError(f"Recurrent: input must have at least one sequence and one step, got {tuple(x.shape)}")
        if lengths is not None:
            if not isinstance(lengths, Tensor):
                lengths = torch.as_tensor(lengths)
            if lengths.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
                raise ValueError(f"Recurrent: lengths must be an integer tensor, got dtype {lengths.dtype}")
            if lengths.shape != (batch,):
                raise ValueError(f"Recurrent: lengths must have shape ({batch},), got {tuple(lengths.shape)}")
            low, high = int(lengths.min()), int(lengths.max())
            if low < 1:
                raise ValueError(
                    f"Recurrent: every length must be at least 1, got {low}; drop empty sequences before batching"
                )
            if high > steps:
                raise ValueError(f"Recurrent: a length of {high} exceeds the {steps} time steps of the input")
            lengths = lengths.long()
        if state is not None:
            expected = (self.num_layers * self.num_directions, batch, self.hidden_size)
            parts = state if self.cell == "lstm" else (state,)
            if self.cell == "lstm" and not (isinstance(state, tuple) and len(state) == 2):
                raise ValueError("Recurrent: an LSTM state must be a tuple (h_0, c_0)")
            for name, part in zip(("h_0", "c_0"), parts, strict=False):
                if not isinstance(part, Tensor) or tuple(part.shape) != expected:
                    shape = tuple(part.shape) if isinstance(part, Tensor) else type(part).__name__
                    raise ValueError(f"Recurrent: {name} must have shape {expected}, got {shape}")
        return lengths

    # ---------------------------------------------------------------------------------------- forward
    def forward(self, x: Tensor, lengths: Tensor | None = None, state: State | None = None) -> tuple[Tensor, State]:
        lengths = self._check(x, lengths, state)
        batch, steps, _ = x.shape
        plan = LengthPlan.build(lengths, batch, steps, x.device)
        lstm = self.cell == "lstm"
        if state is None:
            zeros = x.new_zeros(self.num_layers * self.num_directions, batch, self.hidden_size)
            state = (zeros, zeros) if lstm else zeros
        states = state if lstm else (state,)  # one tuple for every cell: (h,) or (h, c)
        if self.backend == "fused" and plan.order is None:
            output, final = self._fused_whole(x, states)
            return output, (final if lstm else final[0])

        if plan.order is not None:
            x = x.index_select(0, plan.order)
            states = tuple(s.index_select(1, plan.order) for s in states)

        finals: list[list[Tensor]] = [[] for _ in states]
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(self._suffixes(layer)):
                k = layer * self.num_directions + direction
                start = tuple(s[k : k + 1] for s in states)
                seq = plan.reverse(layer_input) if direction == 1 else layer_input
                out, last = self._run_direction(seq, plan, start, self._weights(suffix))
                outputs.append(plan.reverse(out) if direction == 1 else out)
                for kept, piece in zip(finals, last, strict=True):
                    kept.append(piece)
            layer_input = torch.cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = dropout(layer_input, self.dropout)

        output = layer_input
        final = tuple(torch.cat(pieces, dim=0) for pieces in finals)
        if plan.order is not None:
            output = output.index_select(0, plan.restore)
            final = tuple(f.index_select(1, plan.restore) for f in final)
        return output, (final if lstm else final[0])

    def _fused_whole(
        self, x: Tensor, states: tuple[Tensor, ...], layerwise: bool | None = None
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """All sequences are T long: one call to torch's kernel for every layer and direction, or, ``layerwise``,
        one call per layer.

        A single call takes the weights of every layer, which lie in one buffer per layer (:meth:`flatten_parameters`),
        so cuDNN would copy them all at every call. So on CUDA with flat weights a unidirectional stack (a language
        model) runs layer by layer, each call on its own buffer, with the dropout between layers applied here in
        training (as the ragged path does); in evaluation the results are the same. A bidirectional stack always
        keeps the single call, so on CUDA cuDNN still copies its weights at every equal-length call (and warns).
        ``layerwise=None`` chooses as described; ``True`` forces the layer-by-layer path on a unidirectional stack
        on any device (for tests on the CPU).
        """
        if layerwise is None:
            layerwise = x.is_cuda and self.num_layers > 1 and not self.bidirectional and self._is_flat()
        if not layerwise or self.bidirectional:
            weights = [w for layer in range(self.num_layers) for s in self._suffixes(layer) for w in self._weights(s)]
            return self._fused_kernel(x, states, weights, self.num_layers, self.bidirectional, self.dropout)
        finals = []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = dropout(x, self.dropout)
            x, last = self._fused_kernel(x, tuple(s[layer : layer + 1] for s in states), self._weights(f"_l{layer}"))
            finals.append(last)
        return x, tuple(torch.cat(parts, dim=0) for parts in zip(*finals, strict=True))

    def _run_direction(
        self, x: Tensor, plan: LengthPlan, state: tuple[Tensor, ...], weights: list[Tensor]
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One layer, one direction, over sorted input ``[B, T, F]``; ``state`` pieces are ``[1, B, H]``."""
        if self.backend == "fused":
            return self._fused_segments(x, plan, state, weights)
        return self._explicit_loop(x, plan, state, weights)

    def _fused_kernel(
        self,
        x: Tensor,
        state: tuple[Tensor, ...],
        weights: list[Tensor],
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """torch's fused kernel (what ``torch.nn.LSTM`` calls), on our parameters, batch first."""
        args = (self.bias, num_layers, dropout, self.training, bidirectional, True)
        if self.cell == "lstm":
            out, h, c = torch.lstm(x, state, weights, *args)
            return out, (h, c)
        kernel = {"gru": torch.gru, "rnn": torch.rnn_tanh if self.nonlinearity == "tanh" else torch.rnn_relu}
        out, h = kernel[self.cell](x, state[0], weights, *args)
        return out, (h,)

    def _fused_segments(
        self, x: Tensor, plan: LengthPlan, state: tuple[Tensor, ...], weights: list[Tensor]
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        batch, steps, _ = x.shape
        chunks: list[Tensor] = []
        finished: list[tuple[Tensor, ...]] = []  # states of the sequences that end with each segment
        for i, (start, stop, active) in enumerate(plan.segments):
            state = tuple(s[:, :active] for s in state)
            out, state = self._fused_kernel(x[:active, start:stop], state, weights)  # (active, stop-start, H)
            chunks.append(F.pad(out, (0, 0, 0, 0, 0, batch - active)) if active < batch else out)
            still_going = plan.segments[i + 1][2] if i + 1 < len(plan.segments) else 0
            finished.append(tuple(s[:, still_going:active] for s in state))
        output = torch.cat(chunks, dim=1) if len(chunks) > 1 else chunks[0]
        if output.shape[1] < steps:
            output = F.pad(output, (0, 0, 0, steps - output.shape[1]))
        # Segments finish the longest sequences last; sorted order puts them first.
        final = tuple(torch.cat(parts[::-1], dim=1) for parts in zip(*finished, strict=True))
        return output, final

    # ------------------------------------------------------------------------------------------ trace
    def trace(self, x: Tensor) -> list[dict[str, Any]]:
        """Every layer's states and sigmoid gates, time step by time step, for one sequence ``x`` ``[T, F]``.

        What ``rnnkit inspect`` shows: the cell formulas of :mod:`rnnkit.nn.cells` run as in evaluation (no
        dropout), whatever the backend, so each gate is computed by its formula in one place; the states equal
        what :meth:`forward` gives (tested against the fused kernel). One dict per layer, bottom to top:
        ``hidden`` ``[T, D*H]`` (the layer's outputs, forward units first), ``cell`` ``[T, D*H]`` for an LSTM,
        and ``gates`` mapping each sigmoid gate's name (``input``, ``forget``, ``output``; ``reset``,
        ``update``) to ``[T, D*H]``, all in the text's order for both directions.
        """
        if x.dim() != 2 or x.shape[0] == 0 or x.shape[1] != self.input_size:
            raise ValueError(f"Recurrent.trace: input must be [T, {self.input_size}] with T >= 1, got {tuple(x.shape)}")
        steps = x.shape[0]
        plan = LengthPlan.build(None, 1, steps, x.device)
        zeros = x.new_zeros(1, 1, self.hidden_size)
        start = (zeros, zeros) if self.cell == "lstm" else (zeros,)
        layer_input, layers = x[None], []
        for layer in range(self.num_layers):
            directions = []
            for direction, suffix in enumerate(self._suffixes(layer)):
                record: dict[str, list[Tensor]] = {}
                seq = layer_input.flip(1) if direction == 1 else layer_input
                self._explicit_loop(seq, plan, start, self._weights(suffix, training=False), record)
                traced = {name: torch.cat(values) for name, values in record.items()}  # each (T, H)
                directions.append({k: v.flip(0) if direction == 1 else v for k, v in traced.items()})
            joined = {name: torch.cat([d[name] for d in directions], dim=1) for name in directions[0]}
            layers.append(
                {
                    "hidden": joined["hidden"],
                    **({"cell": joined["cell"]} if "cell" in joined else {}),
                    "gates": {name: joined[name] for name in SIGMOID_GATES[self.cell]},
                }
            )
            layer_input = joined["hidden"][None]
        return layers

    def _explicit_loop(
        self,
        x: Tensor,
        plan: LengthPlan,
        state: tuple[Tensor, ...],
        weights: list[Tensor],
        record: dict[str, list[Tensor]] | None = None,
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The cell formulas step by step; ``record``, if given, collects each step's ``hidden``, ``cell`` (LSTM)
        and gates by name (for :meth:`trace`)."""
        weight_ih, weight_hh = weights[0], weights[1]
        bias_ih, bias_hh = (weights[2], weights[3]) if self.bias else (None, None)
        x_proj = F.linear(x, weight_ih, bias_ih)  # (B, T, G*H): every step's input projection at once
        h = state[0][0]
        c = state[1][0] if self.cell == "lstm" else None
        steps = plan.segments[-1][1]
        outputs = []
        for t in range(steps):
            gates: dict[str, Tensor] | None = None if record is None else {}
            if self.cell == "lstm":
                h_next, c_next = lstm_step(x_proj[:, t], h, c, weight_hh, bias_hh, gates)
            elif self.cell == "gru":
                h_next = gru_step(x_proj[:, t], h, weight_hh, bias_hh, gates)
            else:
                h_next = rnn_step(x_proj[:, t], h, weight_hh, bias_hh, self.nonlinearity)
            if record is not None:
                step = {"hidden": h_next, **({"cell": c_next} if self.cell == "lstm" else {}), **gates}
                for name, value in step.items():
                    record.setdefault(name, []).append(value)
            if plan.lengths is None:
                h, c = h_next, (c_next if self.cell == "lstm" else None)
                outputs.append(h)
                continue
            running = (t < plan.lengths)[:, None]  # (B, 1): sequences that still have a token at step t
            h = torch.where(running, h_next, h)
            if self.cell == "lstm":
                c = torch.where(running, c_next, c)
            outputs.append(h_next * running)
        output = torch.stack(outputs, dim=1)
        if output.shape[1] < x.shape[1]:
            output = F.pad(output, (0, 0, 0, x.shape[1] - output.shape[1]))
        final = (h[None], c[None]) if self.cell == "lstm" else (h[None],)
        return output, final
