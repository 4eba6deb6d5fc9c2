"""The lesson's recurrent cells, one time step each, written as their formulas.

Each cell has the parameter names, shapes and gate order of its ``torch.nn`` twin (``weight_ih``
``[G*H, F]``, ``weight_hh`` ``[G*H, H]``, ``bias_ih`` and ``bias_hh`` ``[G*H]``), so one state dict loads
into either. The step functions below take the input projection ``W_ih x + b_ih`` already computed:
``Recurrent(backend="explicit")`` computes it for every time step in one matrix product and then calls the
same step functions, so the formulas live in exactly one place.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

NONLINEARITIES = ("tanh", "relu")


def rnn_step(x_proj: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, nonlinearity: str) -> Tensor:
    """Simple RNN: ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``; ``x_proj`` is ``W_ih x + b_ih``."""
    pre = x_proj + F.linear(h, weight_hh, bias_hh)
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)


def lstm_step(
    x_proj: Tensor,
    h: Tensor,
    c: Tensor,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    gates: dict[str, Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    """LSTM, gates in torch's order (input, forget, cell, output)::

    i = σ(W_ii x + b_ii + W_hi h + b_hi)      input gate: how much new content enters C
    f = σ(W_if x + b_if + W_hf h + b_hf)      forget gate: how much of C is kept
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)   candidate content
    o = σ(W_io x + b_io + W_ho h + b_ho)      output gate: how much of C is shown as H
    c' = f * c + i * g
    h' = o * tanh(c')

    ``gates``, if given, receives the three sigmoid gates by name (``input``, ``forget``, ``output``): what
    ``rnnkit inspect`` shows, computed by this formula and no other.
    """
    pre = x_proj + F.linear(h, weight_hh, bias_hh)
    i, f, g, o = pre.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    if gates is not None:
        gates.update(input=i, forget=f, output=o)
    c_next = f * c + i * g
    h_next = o * torch.tanh(c_next)
    return h_next, c_next


def gru_step(
    x_proj: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, gates: dict[str, Tensor] | None = None
) -> Tensor:
    """GRU, gates in torch's order (reset, update, new)::

    r = σ(W_ir x + b_ir + W_hr h + b_hr)            reset gate: how much of h the candidate sees
    z = σ(W_iz x + b_iz + W_hz h + b_hz)            update gate: how much of h is kept
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   candidate state
    h' = (1 - z) * n + z * h

    ``gates``, if given, receives the two sigmoid gates by name (``reset``, ``update``).
    """
    x_r, x_z, x_n = x_proj.chunk(3, dim=-1)
    h_r, h_z, h_n = F.linear(h, weight_hh, bias_hh).chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    if gates is not None:
        gates.update(reset=r, update=z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # blocks of H rows in each weight matrix
SIGMOID_GATES = {"rnn": (), "lstm": ("input", "forget", "output"), "gru": ("reset", "update")}


class _Cell(nn.Module):
    """Shared parameters and checks; subclasses give the formula."""

    gates: int

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        if input_size <= 0 or hidden_size <= 0:
            raise ValueError(f"input_size and hidden_size must be positive, got {input_size} and {hidden_size}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        rows = self.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(rows))
            self.bias_hh = nn.Parameter(torch.empty(rows))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in ``±1/sqrt(H)``, as torch initialises its cells."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _check(self, x: Tensor, state: Tensor | None, what: str = "h") -> tuple[Tensor, bool]:
        if x.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: input must be [B, F] or [F], got shape {tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}: input has {x.shape[-1]} features, the cell expects {self.input_size}"
            )
        unbatched = x.dim() == 1
        x = x.unsqueeze(0) if unbatched else x
        if state is not None:
            expected = (x.shape[0], self.hidden_size)
            got = tuple(state.shape) if not unbatched else (1, *state.shape)
            if got != expected:
                raise ValueError(f"{type(self).__name__}: {what} must have shape {expected}, got {tuple(state.shape)}")
        return x, unbatched

    def _zeros(self, x: Tensor) -> Tensor:
        return x.new_zeros(x.shape[0], self.hidden_size)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_Cell):
    """The lesson's simple recurrent cell: ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``.

    With ``act = σ`` this is the lesson's ``S_i = σ(W·X_i + H·S_{i-1} + b)``; torch (and we) default to tanh.

    Shapes: ``x`` ``[B, F]`` (or ``[F]``), ``h`` ``[B, H]`` (zeros if omitted) -> ``h'`` ``[B, H]``.
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh") -> None:
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity

    def forward(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        x, unbatched = self._check(x, h)
        h = self._zeros(x) if h is None else h.reshape(x.shape[0], -1)
        h_next = rnn_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh, self.nonlinearity)
        return h_next.squeeze(0) if unbatched else h_next


class LSTMCell(_Cell):
    """Long short-term memory cell: ``(h', c')`` from ``(x, (h, c))``; the formula is in :func:`lstm_step`.

    Shapes: ``x`` ``[B, F]`` (or ``[F]``), ``h`` and ``c`` ``[B, H]`` (zeros if omitted) -> ``(h', c')``.
    """

    gates = 4

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        h, c = state if state is not None else (None, None)
        x, unbatched = self._check(x, h)
        self._check(x.squeeze(0) if unbatched else x, c, "c")
        h = self._zeros(x) if h is None else h.reshape(x.shape[0], -1)
        c = self._zeros(x) if c is None else c.reshape(x.shape[0], -1)
        h_next, c_next = lstm_step(F.linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh, self.bias_hh)
        if unbatched:
            return h_next.squeeze(0), c_next.squeeze(0)
        return h_next, c_next


class GRUCell(_Cell):
    """Gated recurrent unit cell: ``h'`` from ``(x, h)``; the formula is in :func:`gru_step`.

    Shapes: ``x`` ``[B, F]`` (or ``[F]``), ``h`` ``[B, H]`` (zeros if omitted) -> ``h'`` ``[B, H]``.
    """

    gates = 3

    def forward(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        x, unbatched = self._check(x, h)
        h = self._zeros(x) if h is None else h.reshape(x.shape[0], -1)
        h_next = gru_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return h_next.squeeze(0) if unbatched else h_next
