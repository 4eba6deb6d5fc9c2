"""Pooling looks at valid positions only: padding never changes a pooled value."""

import pytest
import torch

from rnnkit.nn import Pooling, Recurrent


@pytest.mark.parametrize("method", ["last", "mean", "max", "attention", "concat"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_extra_padding_changes_nothing(method, bidirectional):
    torch.manual_seed(0)
    rnn = Recurrent("lstm", 3, 4, bidirectional=bidirectional)
    pool = Pooling(method, rnn.output_size, bidirectional=bidirectional)
    x, lengths = torch.randn(3, 5, 3), torch.tensor([5, 2, 3])
    pooled = pool(*(rnn(x, lengths)[0], lengths))
    # garbage (not zeros) in the padding, and more of it
    padded = torch.cat([x, 100 * torch.randn(3, 4, 3)], dim=1)
    outputs = rnn(padded, lengths)[0]
    outputs = outputs + 1000 * (torch.arange(9)[None, :, None] >= lengths[:, None, None])  # pool must ignore this
    torch.testing.assert_close(pool(outputs, lengths), pooled, atol=1e-6, rtol=0)


def test_each_pooling_by_hand():
    outputs = torch.tensor([[[1.0, -1.0], [3.0, 5.0], [9.0, 9.0]]])  # one sequence, T=3, only 2 valid
    lengths = torch.tensor([2])
    torch.testing.assert_close(Pooling("mean", 2)(outputs, lengths), torch.tensor([[2.0, 2.0]]))
    torch.testing.assert_close(Pooling("max", 2)(outputs, lengths), torch.tensor([[3.0, 5.0]]))
    torch.testing.assert_close(Pooling("last", 2)(outputs, lengths), torch.tensor([[3.0, 5.0]]))
    # bidirectional "last": forward half at the last token, backward half at the first
    torch.testing.assert_close(Pooling("last", 2, bidirectional=True)(outputs, lengths), torch.tensor([[3.0, -1.0]]))
    attention = Pooling("attention", 2)
    with torch.no_grad():
        attention.score.weight.copy_(torch.tensor([[1.0, 0.0]]))
    weights = torch.softmax(torch.tensor([1.0, 3.0]), 0)
    expected = weights[0] * outputs[0, 0] + weights[1] * outputs[0, 1]
    torch.testing.assert_close(attention(outputs, lengths), expected[None])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_last_equals_top_layer_final_state(cell):
    torch.manual_seed(1)
    rnn = Recurrent(cell, 3, 4, num_layers=2, bidirectional=True)
    x, lengths = torch.randn(4, 6, 3), torch.tensor([6, 1, 4, 2])
    outputs, final = rnn(x, lengths)
    h_n = final[0] if cell == "lstm" else final
    top = torch.cat([h_n[-2], h_n[-1]], dim=1)
    torch.testing.assert_close(Pooling("last", 8, bidirectional=True)(outputs, lengths), top)


def test_attention_gradient_ignores_padding():
    torch.manual_seed(2)
    pool = Pooling("attention", 3)
    outputs = torch.randn(2, 4, 3, requires_grad=True)
    pool(outputs, torch.tensor([2, 4])).sum().backward()
    assert torch.all(outputs.grad[0, 2:] == 0)


def test_unknown_pooling():
    with pytest.raises(ValueError, match="pooling must be one of"):
        Pooling("median", 3)


def test_concat_joins_last_max_and_mean():
    torch.manual_seed(3)
    outputs, lengths = torch.randn(3, 5, 4), torch.tensor([5, 2, 3])
    joined = Pooling("concat", 4, bidirectional=True)(outputs, lengths)
    parts = [Pooling(m, 4, bidirectional=True)(outputs, lengths) for m in ("last", "max", "mean")]
    torch.testing.assert_close(joined, torch.cat(parts, dim=1))
    assert Pooling("concat", 4).output_size == 12
