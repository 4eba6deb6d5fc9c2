"""DropConnect on the hidden-to-hidden matrices (``Recurrent(weight_drop=p)``): in training only, one mask per
forward call shared by every time step, on ``weight_hh`` only, with gradients reaching the raw weights."""

import pytest
import torch
from torch import nn

from rnnkit.nn import Recurrent
from rnnkit.nn.cells import gru_step, lstm_step, rnn_step

CELLS = ["lstm", "gru", "rnn"]
BACKENDS = ["fused", "explicit"]
TORCH = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def test_zero_changes_nothing_bit_for_bit():
    for cell in CELLS:
        torch.manual_seed(0)
        plain = Recurrent(cell, 5, 7, num_layers=2, dropout=0.3)
        torch.manual_seed(0)
        dropped = Recurrent(cell, 5, 7, num_layers=2, dropout=0.3, weight_drop=0.0)
        x = torch.randn(3, 6, 5)
        lengths = torch.tensor([6, 2, 4])
        torch.manual_seed(1)
        a, _ = plain(x, lengths)
        torch.manual_seed(1)
        b, _ = dropped(x, lengths)
        assert torch.equal(a, b)  # the same random stream is drawn: no mask is drawn at all


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cell", CELLS)
def test_off_in_eval_on_in_training(cell, backend):
    torch.manual_seed(0)
    layer = Recurrent(cell, 4, 8, num_layers=2, weight_drop=0.5, backend=backend)
    reference = Recurrent(cell, 4, 8, num_layers=2, backend=backend)
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(2, 5, 4)
    layer.eval()
    assert torch.equal(layer(x)[0], reference.eval()(x)[0])
    layer.train()
    first, second = layer(x)[0], layer(x)[0]
    assert not torch.allclose(first, second)  # a fresh mask on every call
    assert not torch.allclose(first, reference(x)[0])


def masked_reference(cell, x, weights, p, generator_seed):
    """One layer run step by step with the mask that ``Recurrent`` draws (``rand_like(weight_hh) >= p``)."""
    torch.manual_seed(generator_seed)
    mask = (torch.rand_like(weights["weight_hh_l0"]) >= p) * (1.0 / (1.0 - p))
    weight_hh = weights["weight_hh_l0"] * mask
    x_proj = x @ weights["weight_ih_l0"].T + weights["bias_ih_l0"]
    h = torch.zeros(x.shape[0], weight_hh.shape[1])
    c = torch.zeros_like(h)
    outputs = []
    for t in range(x.shape[1]):  # the same dropped matrix at every step
        if cell == "lstm":
            h, c = lstm_step(x_proj[:, t], h, c, weight_hh, weights["bias_hh_l0"])
        elif cell == "gru":
            h = gru_step(x_proj[:, t], h, weight_hh, weights["bias_hh_l0"])
        else:
            h = rnn_step(x_proj[:, t], h, weight_hh, weights["bias_hh_l0"], "tanh")
        outputs.append(h)
    return torch.stack(outputs, 1), mask


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cell", CELLS)
def test_one_mask_on_weight_hh_only_and_gradients_reach_the_raw_weights(cell, backend):
    torch.manual_seed(0)
    layer = Recurrent(cell, 4, 6, weight_drop=0.5, backend=backend).train()
    x = torch.randn(3, 7, 4)
    torch.manual_seed(5)
    out, _ = layer(x)
    weights = {k: v.detach() for k, v in layer.state_dict().items()}
    expected, mask = masked_reference(cell, x, weights, 0.5, 5)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    out.sum().backward()
    dropped = mask == 0
    assert dropped.any() and (~dropped).any()
    assert torch.all(layer.weight_hh_l0.grad[dropped] == 0)  # a dropped entry did not act, so gets no gradient
    assert layer.weight_hh_l0.grad[~dropped].abs().sum() > 0
    assert torch.all(layer.weight_ih_l0.grad != 0)  # weight_ih is never dropped
    assert all(p.grad is not None for p in layer.parameters())


def test_fused_and_explicit_draw_the_same_masks():
    for cell in CELLS:
        torch.manual_seed(0)
        fused = Recurrent(cell, 4, 6, num_layers=2, weight_drop=0.3, backend="fused").train()
        explicit = Recurrent(cell, 4, 6, num_layers=2, weight_drop=0.3, backend="explicit").train()
        explicit.load_state_dict(fused.state_dict())
        x = torch.randn(2, 5, 4)
        torch.manual_seed(3)
        a = fused(x)[0]
        torch.manual_seed(3)
        b = explicit(x)[0]
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_range_is_checked():
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="weight_drop must be in"):
            Recurrent("lstm", 4, 6, weight_drop=bad)
    assert "weight_drop=0.25" in repr(Recurrent("gru", 4, 6, weight_drop=0.25))
