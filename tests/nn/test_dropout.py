"""The cheaper dropout mask: torch's distribution and scaling, only in training, a gradient through the kept."""

import pytest
import torch

from rnnkit.nn import Dropout, dropout


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_drops_a_share_p_and_scales_the_rest(p):
    torch.manual_seed(0)
    x = torch.ones(1000, 1000)
    y = dropout(x, p)
    dropped = (y == 0).float().mean().item()
    assert abs(dropped - p) < 0.003  # 1e6 draws: the standard error is under 0.0005
    assert torch.allclose(y[y != 0], torch.tensor(1 / (1 - p)))
    assert abs(y.mean().item() - 1.0) < 0.01  # the expectation is unchanged, as with torch's own dropout


def test_identity_outside_training_and_at_zero():
    x = torch.randn(4, 5)
    assert dropout(x, 0.5, training=False) is x and dropout(x, 0.0) is x
    module = Dropout(0.4).eval()
    assert module(x) is x
    module.train()
    assert not torch.equal(module(x), x)


def test_gradient_flows_through_the_kept_elements_only():
    torch.manual_seed(1)
    x = torch.randn(50, 20, requires_grad=True)
    y = dropout(x, 0.3)
    y.sum().backward()
    kept = y.detach() != 0
    assert torch.allclose(x.grad[kept], torch.tensor(1 / 0.7)) and (x.grad[~kept] == 0).all()


def test_same_seed_same_mask_and_bad_rates():
    x = torch.randn(8, 8)
    torch.manual_seed(3)
    a = dropout(x, 0.5)
    torch.manual_seed(3)
    assert torch.equal(a, dropout(x, 0.5))
    for p in (-0.1, 1.0):
        with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
            Dropout(p)
