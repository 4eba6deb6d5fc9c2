"""``Recurrent.trace``: the states and gates that ``rnnkit inspect`` shows equal what torch's fused kernels compute.

The reference for the states is torch's own ``nn.LSTM/GRU/RNN``, one layer at a time, fed the traced layer below;
the reference for the gates is the gate formula written out again here with plain matrix products, on the
hidden states the fused kernel produced (so a gate computed from anything but the state the network really had
would not match).
"""

import pytest
import torch
from torch import nn

from rnnkit.nn import Recurrent

TORCH = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def one_layer(ours: Recurrent, layer: int) -> nn.Module:
    """torch's module holding layer ``layer`` of ``ours``."""
    size = ours.input_size if layer == 0 else ours.output_size
    ref = TORCH[ours.cell](size, ours.hidden_size, bidirectional=ours.bidirectional, batch_first=True)
    state = ours.state_dict()
    ref.load_state_dict({name: state[name.replace("_l0", f"_l{layer}")] for name in ref.state_dict()})
    return ref


def reference_gates(ours: Recurrent, layer: int, suffix: str, x: torch.Tensor, hidden: torch.Tensor) -> dict:
    """The sigmoid gates at every step from the layer's input ``x`` [T, F] and fused hidden states [T, H], in
    the order the direction reads them."""
    w_ih, w_hh = getattr(ours, f"weight_ih_l{layer}{suffix}"), getattr(ours, f"weight_hh_l{layer}{suffix}")
    b_ih, b_hh = getattr(ours, f"bias_ih_l{layer}{suffix}"), getattr(ours, f"bias_hh_l{layer}{suffix}")
    previous = torch.cat([torch.zeros(1, hidden.shape[1]), hidden[:-1]])  # h_{t-1}, zeros before the first
    from_input = x @ w_ih.T + b_ih
    from_state = previous @ w_hh.T + b_hh
    h = ours.hidden_size
    if ours.cell == "lstm":
        pre = from_input + from_state
        return {
            name: torch.sigmoid(pre[:, k * h : (k + 1) * h]) for k, name in ((0, "input"), (1, "forget"), (3, "output"))
        }
    if ours.cell == "gru":
        pre = from_input[:, : 2 * h] + from_state[:, : 2 * h]
        return {"reset": torch.sigmoid(pre[:, :h]), "update": torch.sigmoid(pre[:, h:])}
    return {}


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_trace_equals_the_fused_forward_pass(cell, bidirectional):
    torch.manual_seed(0)
    ours = Recurrent(cell, 5, 4, num_layers=2, bidirectional=bidirectional, dropout=0.3, weight_drop=0.2).eval()
    ours.train()  # trace runs as in evaluation whatever the mode: no dropout, no dropped weights
    x = torch.randn(7, 5)
    with torch.no_grad():
        layers = ours.trace(x)
        ours.eval()
        output, final = ours(x[None])
    assert len(layers) == 2
    torch.testing.assert_close(layers[-1]["hidden"], output[0], atol=1e-6, rtol=0)
    layer_input = x
    h = ours.hidden_size
    for k, traced in enumerate(layers):
        ref = one_layer(ours, k)
        with torch.no_grad():
            expected, ref_final = ref(layer_input[None])
        torch.testing.assert_close(traced["hidden"], expected[0], atol=1e-6, rtol=0)
        assert set(traced["gates"]) == {"lstm": {"input", "forget", "output"}, "gru": {"reset", "update"}}.get(
            cell, set()
        )
        for direction, suffix in enumerate(["", "_reverse"][: ours.num_directions]):
            units = slice(direction * h, (direction + 1) * h)

            def read(t, direction=direction):  # the backward direction reads the text reversed
                return t.flip(0) if direction else t

            with torch.no_grad():
                gates = reference_gates(ours, k, suffix, read(layer_input), read(expected[0][:, units]))
            for name, values in gates.items():
                torch.testing.assert_close(read(traced["gates"][name][:, units]), values, atol=1e-6, rtol=0)
                assert float(values.min()) >= 0 and float(values.max()) <= 1
        if cell == "lstm":
            c_n = ref_final[1]  # (D, 1, H): the forward cell state after the last token, the backward after the first
            torch.testing.assert_close(traced["cell"][-1, :h], c_n[0, 0], atol=1e-6, rtol=0)
            if bidirectional:
                torch.testing.assert_close(traced["cell"][0, h:], c_n[1, 0], atol=1e-6, rtol=0)
            # h = o * tanh(c): the output gate and the cell state explain the hidden state exactly
            o = traced["gates"]["output"]
            torch.testing.assert_close(traced["hidden"], o * torch.tanh(traced["cell"]), atol=1e-6, rtol=0)
        else:
            assert "cell" not in traced
        layer_input = traced["hidden"]


def test_trace_follows_the_explicit_backend_too():
    torch.manual_seed(1)
    fused = Recurrent("gru", 3, 4, bidirectional=True).eval()
    explicit = Recurrent("gru", 3, 4, bidirectional=True, backend="explicit").eval()
    explicit.load_state_dict(fused.state_dict())
    x = torch.randn(6, 3)
    with torch.no_grad():
        a, b = fused.trace(x), explicit.trace(x)
    torch.testing.assert_close(a[0]["hidden"], b[0]["hidden"])
    torch.testing.assert_close(a[0]["gates"]["update"], b[0]["gates"]["update"])


@pytest.mark.parametrize("shape", [(0, 3), (4, 2), (1, 4, 3)])
def test_trace_refuses_a_malformed_sequence(shape):
    with pytest.raises(ValueError, match="Recurrent.trace: input must be"):
        Recurrent("lstm", 3, 4).trace(torch.zeros(shape))
