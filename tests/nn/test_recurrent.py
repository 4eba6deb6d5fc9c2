"""``Recurrent`` equals torch's packed-sequence reference on every length, in both backends."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.nn import Recurrent

TORCH = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def make_pair(cell, input_size, hidden, layers, bidirectional, backend, dtype=torch.float32):
    ref = TORCH[cell](input_size, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=True)
    ours = Recurrent(cell, input_size, hidden, num_layers=layers, bidirectional=bidirectional, backend=backend)
    ours.load_state_dict(ref.state_dict())
    return ref.to(dtype), ours.to(dtype)


def packed_reference(ref, x, lengths, state=None):
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, final = ref(packed, state)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, final


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def assert_same_run(ref, ours, x, lengths, atol=1e-5, grad_atol=1e-4):
    """Outputs, final states, and gradients w.r.t. input and parameters all agree with the reference."""
    x_ref = x.clone().requires_grad_(True)
    x_ours = x.clone().requires_grad_(True)
    out_ref, final_ref = packed_reference(ref, x_ref, lengths)
    out_ours, final_ours = ours(x_ours, lengths)
    torch.testing.assert_close(out_ours, out_ref, atol=atol, rtol=0)
    for a, b in zip(as_tuple(final_ours), as_tuple(final_ref), strict=True):
        torch.testing.assert_close(a, b, atol=atol, rtol=0)
    # padded positions are exactly zero
    mask = torch.arange(x.shape[1])[None, :] < lengths.cpu()[:, None]
    assert torch.all(out_ours[~mask] == 0)
    # the same loss through both; gradients agree
    weights = torch.randn_like(out_ref)

    def loss(out, final):
        return (out * weights).sum() + sum((f * f).sum() for f in as_tuple(final))

    loss(out_ref, final_ref).backward()
    loss(out_ours, final_ours).backward()
    torch.testing.assert_close(x_ours.grad, x_ref.grad, atol=grad_atol, rtol=0)
    assert torch.all(x_ours.grad[~mask] == 0), "gradient leaked into padding"
    ref_grads = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, ref_grads[name].grad, atol=grad_atol, rtol=0, msg=name)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("backend", ["fused", "explicit"])
def test_matches_packed_reference(cell, bidirectional, layers, backend):
    torch.manual_seed(layers * 7 + bidirectional)
    ref, ours = make_pair(cell, 5, 6, layers, bidirectional, backend)
    x = torch.randn(5, 8, 5)
    lengths = torch.tensor([3, 8, 1, 5, 3])
    assert_same_run(ref, ours, x, lengths)


@settings(max_examples=40, deadline=None)
@given(
    cell=st.sampled_from(["lstm", "gru", "rnn"]),
    backend=st.sampled_from(["fused", "explicit"]),
    bidirectional=st.booleans(),
    layers=st.integers(1, 3),
    batch=st.integers(1, 6),
    steps=st.integers(1, 12),
    data=st.data(),
)
def test_property_matches_packed_reference(cell, backend, bidirectional, layers, batch, steps, data):
    lengths = data.draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch))
    # Cover the cases that break naive code: all equal, one much longer than the rest.
    shape = data.draw(st.sampled_from(["random", "all_equal", "one_long"]))
    if shape == "all_equal":
        lengths = [lengths[0]] * batch
    elif shape == "one_long":
        lengths = [1] * batch
        lengths[data.draw(st.integers(0, batch - 1))] = steps
    seed = data.draw(st.integers(0, 2**16))
    torch.manual_seed(seed)
    ref, ours = make_pair(cell, 3, 4, layers, bidirectional, backend)
    x = torch.randn(batch, steps, 3)
    assert_same_run(ref, ours, x, torch.tensor(lengths))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("backend", ["fused", "explicit"])
def test_no_lengths_and_full_lengths_equal_plain_torch(cell, backend):
    torch.manual_seed(3)
    ref, ours = make_pair(cell, 4, 5, 2, True, backend)
    x = torch.randn(3, 6, 4)
    out_ref, final_ref = ref(x)
    for lengths in (None, torch.tensor([6, 6, 6])):
        out, final = ours(x, lengths)
        torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=0)
        for a, b in zip(as_tuple(final), as_tuple(final_ref), strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("backend", ["fused", "explicit"])
def test_initial_state_is_used(cell, backend):
    torch.manual_seed(4)
    ref, ours = make_pair(cell, 3, 4, 2, True, backend)
    x = torch.randn(3, 5, 3)
    lengths = torch.tensor([2, 5, 4])
    h0 = torch.randn(4, 3, 4)
    state = (h0, torch.randn(4, 3, 4)) if cell == "lstm" else h0
    out_ref, final_ref = packed_reference(ref, x, lengths, state)
    out, final = ours(x, lengths, state)
    torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=0)
    for a, b in zip(as_tuple(final), as_tuple(final_ref), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_state_dict_moves_both_ways_and_backends_agree():
    torch.manual_seed(5)
    fused = Recurrent("lstm", 4, 3, num_layers=2, bidirectional=True)
    explicit = Recurrent("lstm", 4, 3, num_layers=2, bidirectional=True, backend="explicit")
    explicit.load_state_dict(fused.state_dict())
    torch_lstm = nn.LSTM(4, 3, num_layers=2, bidirectional=True, batch_first=True)
    torch_lstm.load_state_dict(fused.state_dict())
    assert list(fused.state_dict()) == list(torch_lstm.state_dict())
    x, lengths = torch.randn(4, 7, 4), torch.tensor([7, 2, 5, 1])
    torch.testing.assert_close(fused(x, lengths)[0], explicit(x, lengths)[0], atol=1e-5, rtol=0)


def test_gradcheck_small_recurrent():
    torch.manual_seed(6)
    for backend in ("fused", "explicit"):
        layer = Recurrent("gru", 2, 2, num_layers=2, bidirectional=True, backend=backend).double()
        x = torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda x, layer=layer: layer(x, torch.tensor([4, 1, 3]))[0], (x,))
    lstm = Recurrent("lstm", 2, 2, bidirectional=True, backend="explicit").double()
    x = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: lstm(x, torch.tensor([3, 2]))[1][1], (x,))


def test_dropout_only_in_training():
    torch.manual_seed(7)
    layer = Recurrent("lstm", 3, 8, num_layers=2, dropout=0.5)
    x, lengths = torch.randn(4, 5, 3), torch.tensor([5, 3, 2, 4])
    layer.eval()
    assert torch.equal(layer(x, lengths)[0], layer(x, lengths)[0])
    layer.train()
    torch.manual_seed(8)
    a = layer(x, lengths)[0]
    torch.manual_seed(9)
    b = layer(x, lengths)[0]
    assert not torch.equal(a, b)
    single = Recurrent("lstm", 3, 8, num_layers=1, dropout=0.5).train()
    assert torch.equal(single(x, lengths)[0], single(x, lengths)[0])  # no layer above to drop into


def test_lengths_on_another_device_and_dtype():
    layer = Recurrent("gru", 3, 4)
    x = torch.randn(2, 4, 3)
    a = layer(x, torch.tensor([4, 2]))[0]
    b = layer(x, torch.tensor([4, 2], dtype=torch.int32))[0]
    c = layer(x, [4, 2])[0]
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda: (torch.randn(4, 3), None, None), r"input must be \[B, T, F\]"),
        (lambda: (torch.randn(2, 4, 5), None, None), "5 features per step, expected 3"),
        (lambda: (torch.randn(2, 0, 3), None, None), "at least one sequence and one step"),
        (lambda: (torch.randn(2, 4, 3), torch.tensor([4, 0]), None), "at least 1, got 0"),
        (lambda: (torch.randn(2, 4, 3), torch.tensor([5, 2]), None), "length of 5 exceeds the 4 time steps"),
        (lambda: (torch.randn(2, 4, 3), torch.tensor([4, 2, 1]), None), r"lengths must have shape \(2,\)"),
        (lambda: (torch.randn(2, 4, 3), torch.tensor([[4, 2]]), None), r"lengths must have shape \(2,\)"),
        (lambda: (torch.randn(2, 4, 3), torch.tensor([4.0, 2.0]), None), "integer tensor, got dtype torch.float32"),
        (lambda: (torch.randn(2, 4, 3), None, torch.zeros(2, 2, 4)), "an LSTM state must be a tuple"),
        (lambda: (torch.randn(2, 4, 3), None, (torch.zeros(1, 2, 4), torch.zeros(2, 2, 4))), r"h_0 must have shape"),
        (lambda: (torch.randn(2, 4, 3), None, (torch.zeros(2, 2, 4), torch.zeros(2, 3, 4))), r"c_0 must have shape"),
    ],
)
def test_errors(make_input, message):
    layer = Recurrent("lstm", 3, 4, bidirectional=True)
    x, lengths, state = make_input()
    with pytest.raises(ValueError, match=message):
        layer(x, lengths, state)


def test_constructor_errors():
    with pytest.raises(ValueError, match="cell must be one of"):
        Recurrent("transformer", 3, 4)
    with pytest.raises(ValueError, match="backend must be one of"):
        Recurrent("lstm", 3, 4, backend="cuda")
    with pytest.raises(ValueError, match="dropout must be in"):
        Recurrent("lstm", 3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="positive"):
        Recurrent("lstm", 3, 4, num_layers=0)
