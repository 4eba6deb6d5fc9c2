"""``Recurrent.flatten_parameters``: each layer and direction's parameters as views of one buffer of their own, the
layout cuDNN uses in place, with every value, gradient, optimiser step and state dict unchanged; the layer-by-layer
whole path (what CUDA runs on a flat unidirectional stack) equal to the single call."""

import io
import warnings

import pytest
import torch

from rnnkit.nn import Recurrent

pytestmark = pytest.mark.usefixtures("one_thread")

CELLS = ["lstm", "gru", "rnn"]
NAMES = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


def groups(layer: Recurrent) -> list[list[torch.Tensor]]:
    """Each layer and direction's parameters, in the kernel's order."""
    return [
        [getattr(layer, name + suffix) for name in NAMES if layer.bias or name.startswith("weight")]
        for k in range(layer.num_layers)
        for suffix in layer._suffixes(k)
    ]


def assert_flat(layer: Recurrent) -> None:
    storages = set()
    for params in groups(layer):
        start = params[0].untyped_storage().data_ptr()
        storages.add(start)
        at = start
        for p in params:
            assert p.untyped_storage().data_ptr() == start and p.is_contiguous()
            assert p.data_ptr() == at  # in order, the first at offset 0
            at += p.numel() * p.element_size()
    assert len(storages) == len(groups(layer))  # one storage per layer and direction
    assert layer._is_flat()


def run(layer, x, lengths):
    """Outputs, final states and every gradient (input and parameters) of one forward and backward pass."""
    layer.zero_grad()
    x = x.clone().requires_grad_(True)
    out, final = layer(x, lengths)
    final = final if isinstance(final, tuple) else (final,)
    (out.square().sum() + sum(f.sum() for f in final)).backward()
    return [out, *final, x.grad, *(p.grad.clone() for p in layer.parameters())]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_flatten_changes_layout_not_results(cell, bidirectional, bias):
    torch.manual_seed(0)
    layer = Recurrent(cell, 5, 6, num_layers=2, bidirectional=bidirectional, bias=bias)
    x = torch.randn(4, 7, 5)
    batches = {"ragged": torch.tensor([7, 3, 5, 1]), "equal": None}
    before = {name: run(layer, x, lengths) for name, lengths in batches.items()}
    objects = list(layer.parameters())
    layer.flatten_parameters()
    assert list(layer.parameters()) == objects  # the same Parameter objects
    assert_flat(layer)
    for name, lengths in batches.items():
        for a, b in zip(run(layer, x, lengths), before[name], strict=True):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_unflattened_is_not_flat():
    assert not Recurrent("lstm", 3, 4)._is_flat()


def test_optimiser_steps_and_state_dicts_keep_the_views():
    torch.manual_seed(0)
    layer = Recurrent("lstm", 4, 5, num_layers=2, bidirectional=True)
    layer.flatten_parameters()
    pointers = [p.data_ptr() for p in layer.parameters()]
    optimiser = torch.optim.AdamW(layer.parameters(), lr=0.01, fused=True)
    x, lengths = torch.randn(3, 6, 4), torch.tensor([6, 2, 4])
    start = {k: v.clone() for k, v in layer.state_dict().items()}
    for _ in range(3):
        optimiser.zero_grad()
        layer(x, lengths)[0].square().sum().backward()
        optimiser.step()
    assert [p.data_ptr() for p in layer.parameters()] == pointers
    assert_flat(layer)
    assert any(not torch.equal(v, start[k]) for k, v in layer.state_dict().items())  # the steps did train

    saved = io.BytesIO()
    torch.save(layer.state_dict(), saved)
    saved.seek(0)
    loaded = torch.load(saved)
    fresh = Recurrent("lstm", 4, 5, num_layers=2, bidirectional=True)
    fresh.load_state_dict(loaded)
    for k, v in layer.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v)

    layer.load_state_dict(start)  # copies into the views
    assert [p.data_ptr() for p in layer.parameters()] == pointers
    assert_flat(layer)
    for k, v in layer.state_dict().items():
        assert torch.equal(v, start[k])


def test_a_cpu_move_or_cast_leaves_ordinary_tensors_with_the_same_values():
    torch.manual_seed(0)
    layer = Recurrent("gru", 3, 4, num_layers=2)
    layer.flatten_parameters()
    values = {k: v.clone() for k, v in layer.state_dict().items()}
    layer.double()  # not on CUDA: no buffers are rebuilt
    assert not layer._is_flat()
    assert len({p.untyped_storage().data_ptr() for p in layer.parameters()}) == len(values)
    for k, v in layer.state_dict().items():
        assert v.dtype == torch.float64 and torch.equal(v.float(), values[k])


@pytest.mark.parametrize("cell", CELLS)
def test_layerwise_whole_path_equals_the_single_call(cell):
    torch.manual_seed(0)
    layer = Recurrent(cell, 5, 6, num_layers=3, dropout=0.4).eval()
    layer.flatten_parameters()
    x = torch.randn(2, 8, 5)
    state = torch.randn(3, 2, 6)
    states = (state, torch.randn(3, 2, 6)) if cell == "lstm" else (state,)
    one_out, one_final = layer._fused_whole(x, states, layerwise=False)
    out, final = layer._fused_whole(x, states, layerwise=True)
    torch.testing.assert_close(out, one_out, atol=1e-6, rtol=0)
    for a, b in zip(final, one_final, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    assert torch.equal(layer._fused_whole(x, states)[0], one_out)  # the CPU keeps the single call by default


def test_layerwise_whole_path_applies_dropout_in_training():
    torch.manual_seed(0)
    layer = Recurrent("lstm", 5, 6, num_layers=2, dropout=0.5)
    x = torch.randn(2, 8, 5)
    states = (torch.zeros(2, 2, 6), torch.zeros(2, 2, 6))
    eval_out = layer.eval()._fused_whole(x, states, layerwise=True)[0]
    train_out = layer.train()._fused_whole(x, states, layerwise=True)[0]
    assert not torch.allclose(train_out, eval_out)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
@pytest.mark.parametrize("cell", CELLS)
def test_cuda_uses_the_weights_in_place(cell):
    torch.manual_seed(0)
    cases = [
        (Recurrent(cell, 16, 32, num_layers=2, dropout=0.2), [torch.tensor([9, 4, 9, 2]), None]),
        (Recurrent(cell, 16, 32, num_layers=2, bidirectional=True), [torch.tensor([9, 4, 9, 2])]),
        (Recurrent(cell, 16, 32, bias=False), [torch.tensor([9, 4, 9, 2]), None]),  # cuDNN's zero bias slots
    ]
    for layer, batches in cases:
        reference = {k: v.clone() for k, v in layer.state_dict().items()}
        layer.cuda().train()
        assert_flat(layer)
        for k, v in layer.state_dict().items():
            assert torch.equal(v.cpu(), reference[k])
        x = torch.randn(4, 9, 16, device="cuda")
        for lengths in batches:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                out, _ = layer(x, lengths)
                out.sum().backward()
                torch.cuda.synchronize()
            assert not [w for w in caught if "contiguous chunk of memory" in str(w.message)], lengths
        layer.cpu()
        assert not layer._is_flat()
        assert {p.device.type for p in layer.parameters()} == {"cpu"}
