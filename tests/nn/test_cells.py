"""The explicit cells equal torch's cells, and their gradients are right (gradcheck in float64)."""

import pytest
import torch
from torch import nn

from rnnkit.nn import GRUCell, LSTMCell, RNNCell

PAIRS = [
    (RNNCell, nn.RNNCell, {}),
    (RNNCell, nn.RNNCell, {"nonlinearity": "relu"}),
    (LSTMCell, nn.LSTMCell, {}),
    (GRUCell, nn.GRUCell, {}),
]


def as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


@pytest.mark.parametrize(("ours_cls", "ref_cls", "kwargs"), PAIRS)
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_torch_both_ways(ours_cls, ref_cls, kwargs, bias):
    torch.manual_seed(0)
    ref = ref_cls(6, 5, bias=bias, **kwargs)
    ours = ours_cls(6, 5, bias=bias, **kwargs)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [(n, p.shape) for n, p in ref.named_parameters()]
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(3, 6)
    h = torch.randn(3, 5)
    state = (h, torch.randn(3, 5)) if ours_cls is LSTMCell else h
    for a, b in zip(as_tuple(ours(x, state)), as_tuple(ref(x, state)), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    # and the other way round: torch's cell loads ours
    fresh = ref_cls(6, 5, bias=bias, **kwargs)
    fresh.load_state_dict(ours.state_dict())
    for a, b in zip(as_tuple(fresh(x, state)), as_tuple(ref(x, state)), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


@pytest.mark.parametrize(("ours_cls", "ref_cls", "kwargs"), PAIRS)
def test_cell_default_state_and_unbatched_input(ours_cls, ref_cls, kwargs):
    torch.manual_seed(1)
    ref = ref_cls(4, 3, **kwargs)
    ours = ours_cls(4, 3, **kwargs)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(4)
    got, want = ours(x), ref(x)
    if isinstance(got, tuple):
        assert got[0].shape == (3,)
        torch.testing.assert_close(got[0], want[0], atol=1e-6, rtol=0)
        torch.testing.assert_close(got[1], want[1], atol=1e-6, rtol=0)
    else:
        assert got.shape == (3,)
        torch.testing.assert_close(got, want, atol=1e-6, rtol=0)


def test_lesson_formula_by_hand():
    """The simple cell is S_i = act(W X_i + H S_{i-1} + b), checked against numbers computed by hand."""
    cell = RNNCell(2, 1)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor([[0.5, -1.0]]))
        cell.weight_hh.copy_(torch.tensor([[2.0]]))
        cell.bias_ih.fill_(0.25)
        cell.bias_hh.fill_(-0.5)
    h = cell(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5]]))
    # 0.5*1 - 1*2 + 0.25 + 2*0.5 - 0.5 = -0.75
    torch.testing.assert_close(h, torch.tanh(torch.tensor([[-0.75]])))


@pytest.mark.parametrize("cls", [RNNCell, LSTMCell, GRUCell])
def test_gradcheck(cls):
    torch.manual_seed(2)
    cell = cls(3, 2).double()
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    if cls is LSTMCell:
        c = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda x, h, c: cell(x, (h, c)), (x, h, c))
    else:
        assert torch.autograd.gradcheck(lambda x, h: cell(x, h), (x, h))


def test_cell_errors():
    cell = LSTMCell(4, 3)
    with pytest.raises(ValueError, match="5 features, the cell expects 4"):
        cell(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"input must be \[B, F\]"):
        cell(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="h must have shape"):
        cell(torch.randn(2, 4), (torch.randn(3, 3), torch.randn(2, 3)))
    with pytest.raises(ValueError, match="c must have shape"):
        cell(torch.randn(2, 4), (torch.randn(2, 3), torch.randn(2, 4)))
    with pytest.raises(ValueError, match="nonlinearity"):
        RNNCell(2, 2, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="positive"):
        GRUCell(0, 2)
