"""The CRF against brute force over every tag sequence, on variable lengths, and padding changes nothing."""

import itertools

import numpy as np
import pytest
import torch
from torch.func import functional_call

from rnnkit.nn import CRF
from rnnkit.tasks.tag.viterbi import viterbi_decode, viterbi_decode_batch


def make_crf(num_tags: int, seed: int = 0) -> CRF:
    """A float64 CRF with parameters large enough (±1) that transitions matter."""
    torch.manual_seed(seed)
    crf = CRF(num_tags).double()
    with torch.no_grad():
        for p in crf.parameters():
            p.uniform_(-1.0, 1.0)
    return crf


def score(crf: CRF, emissions: torch.Tensor, tags: tuple[int, ...]) -> torch.Tensor:
    """The score of one tag sequence, written straight from the formula (emissions ``[n, K]``)."""
    total = crf.start_transitions[tags[0]] + crf.end_transitions[tags[-1]]
    total = total + sum(emissions[t, y] for t, y in enumerate(tags))
    return total + sum(crf.transitions[a, b] for a, b in itertools.pairwise(tags))


def brute_force(crf: CRF, emissions: torch.Tensor, n: int) -> tuple[torch.Tensor, tuple[int, ...], dict]:
    """``log Z``, the best sequence and every sequence's score, by enumerating all ``K^n`` sequences."""
    scores = {tags: score(crf, emissions[:n], tags) for tags in itertools.product(range(crf.num_tags), repeat=n)}
    log_z = torch.logsumexp(torch.stack(list(scores.values())), dim=0)
    return log_z, max(scores, key=lambda tags: scores[tags].item()), scores


def batch(num_tags: int, lengths: list[int], steps: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    emissions = torch.randn(len(lengths), steps, num_tags, generator=generator, dtype=torch.float64)
    return emissions, torch.tensor(lengths)


def numpy_parameters(crf: CRF) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(p.detach().numpy() for p in (crf.transitions, crf.start_transitions, crf.end_transitions))


@pytest.mark.parametrize("num_tags", [3, 4])
def test_log_partition_and_likelihood_match_brute_force(num_tags):
    crf = make_crf(num_tags)
    emissions, lengths = batch(num_tags, [4, 1, 3, 2], steps=4)
    log_z = crf.log_partition(emissions, lengths)
    for b, n in enumerate(lengths.tolist()):
        expected, _, scores = brute_force(crf, emissions[b], n)
        torch.testing.assert_close(log_z[b], expected)
        # every sequence of this length, scored at once through log_likelihood; the probabilities sum to 1
        all_tags = torch.tensor(list(scores))
        padded = torch.cat([all_tags, torch.full((len(all_tags), 4 - n), -100)], dim=1)
        log_p = crf.log_likelihood(emissions[b].expand(len(all_tags), -1, -1), padded, torch.full((len(all_tags),), n))
        torch.testing.assert_close(log_p, torch.stack(list(scores.values())) - expected)
        torch.testing.assert_close(log_p.exp().sum(), torch.tensor(1.0, dtype=torch.float64))


@pytest.mark.parametrize("seed", range(6))
def test_decode_matches_brute_force_and_numpy(seed):
    num_tags = 3 + seed % 2
    crf = make_crf(num_tags, seed)
    lengths = [4, 1, 3, 2, 0][: 3 + seed % 3]
    emissions, lengths = batch(num_tags, lengths, steps=4, seed=seed)
    decoded = crf.decode(emissions, lengths)
    assert decoded.dtype == torch.long and decoded.shape == (len(lengths), 4)
    numpy_paths = viterbi_decode_batch(emissions.numpy(), lengths.numpy(), *numpy_parameters(crf))
    for b, n in enumerate(lengths.tolist()):
        best = brute_force(crf, emissions[b], n)[1] if n else ()
        assert tuple(decoded[b, :n].tolist()) == best
        assert decoded[b, n:].eq(0).all()  # beyond the length: 0
        assert numpy_paths[b].dtype == np.int64 and tuple(numpy_paths[b].tolist()) == best
        assert tuple(viterbi_decode(emissions[b, :n].numpy(), *numpy_parameters(crf)).tolist()) == best


def test_lengths_none_means_all_steps_and_empty_sequences():
    crf = make_crf(3)
    emissions, _ = batch(3, [3, 3], steps=3)
    tags = torch.tensor([[0, 2, 1], [1, 1, 0]])
    full = torch.tensor([3, 3])
    torch.testing.assert_close(crf(emissions, tags), crf(emissions, tags, full))
    assert torch.equal(crf.decode(emissions), crf.decode(emissions, full))
    empty = torch.tensor([0, 0])  # all padding: nothing to score, nothing decoded
    assert crf.log_likelihood(emissions, tags, empty).eq(0).all()
    assert crf.decode(emissions, empty).eq(0).all()
    assert crf(emissions, tags, empty).item() == 0.0
    assert viterbi_decode(np.zeros((0, 3)), *numpy_parameters(crf)).shape == (0,)


def test_loss_is_negative_log_likelihood_per_token():
    crf = make_crf(3)
    emissions, lengths = batch(3, [3, 1, 2], steps=3)
    tags = torch.tensor([[0, 2, 1], [1, 0, 0], [2, 2, 0]])
    expected = -crf.log_likelihood(emissions, tags, lengths).sum() / 6
    torch.testing.assert_close(crf(emissions, tags, lengths), expected)


def test_padding_changes_nothing():
    crf = make_crf(4)
    emissions, lengths = batch(4, [5, 2, 3, 0], steps=5)
    tags = torch.randint(0, 4, (4, 5), generator=torch.Generator().manual_seed(3))
    tags = torch.where(torch.arange(5) < lengths[:, None], tags, -100)  # garbage ids beyond each length

    def run(emissions: torch.Tensor, tags: torch.Tensor) -> tuple:
        emissions = emissions.clone().requires_grad_()
        crf.zero_grad()
        log_likelihood = crf.log_likelihood(emissions, tags, lengths)
        loss = crf(emissions, tags, lengths)
        loss.backward()
        grads = [p.grad.clone() for p in crf.parameters()]
        return log_likelihood.detach(), loss.detach(), crf.decode(emissions, lengths), emissions.grad, grads

    short = run(emissions, tags)
    more = 100 * torch.randn(4, 3, 4, dtype=torch.float64)
    long = run(torch.cat([emissions, more], dim=1), torch.cat([tags, torch.randint(-100, 4, (4, 3))], dim=1))
    torch.testing.assert_close(long[0], short[0])
    torch.testing.assert_close(long[1], short[1])
    assert torch.equal(long[2][:, :5], short[2]) and long[2][:, 5:].eq(0).all()
    torch.testing.assert_close(long[3][:, :5], short[3])
    assert long[3][:, 5:].eq(0).all() and short[3][3].eq(0).all()  # padding, and a length-0 sequence, get none
    for got, expected in zip(long[4], short[4], strict=True):
        torch.testing.assert_close(got, expected)


def test_gradcheck():
    crf = make_crf(3)
    emissions, lengths = batch(3, [3, 1, 2], steps=3)
    tags = torch.tensor([[0, 2, 1], [1, -100, -100], [2, 2, 0]])
    names = [name for name, _ in crf.named_parameters()]

    def loss(emissions: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        return functional_call(crf, dict(zip(names, params, strict=True)), (emissions, tags, lengths))

    inputs = (emissions.requires_grad_(), *(p.detach().clone().requires_grad_() for p in crf.parameters()))
    assert torch.autograd.gradcheck(loss, inputs)


def test_training_learns_alternating_tags():
    torch.manual_seed(0)
    crf = CRF(2)
    emissions = torch.zeros(4, 6, 2)  # no evidence from the tokens: only transitions can tell the pattern
    tags = torch.tensor([0, 1, 0, 1, 0, 1]).repeat(4, 1)
    lengths = torch.tensor([6, 5, 3, 1])
    optimizer = torch.optim.Adam(crf.parameters(), lr=0.1)
    for _ in range(200):
        optimizer.zero_grad()
        crf(emissions, tags, lengths).backward()
        optimizer.step()
    assert crf(emissions, tags, lengths).item() < 0.05
    decoded = crf.decode(emissions, lengths)
    assert torch.equal(decoded, torch.where(torch.arange(6) < lengths[:, None], tags, 0))


@pytest.mark.parametrize(
    ("emissions", "tags", "lengths", "message"),
    [
        (torch.zeros(2, 3), None, None, r"emissions must be \[B, T, 3\]"),
        (torch.zeros(2, 3, 4), None, None, r"emissions must be \[B, T, 3\]"),
        (torch.zeros(2, 0, 3), None, None, "at least one time step"),
        (torch.zeros(2, 3, 3), torch.zeros(2, 2, dtype=torch.long), None, r"tags must be long \[2, 3\]"),
        (torch.zeros(2, 3, 3), torch.zeros(2, 3), None, r"tags must be long \[2, 3\]"),
        (torch.zeros(2, 3, 3), torch.tensor([[0, 1, 3], [0, 0, 0]]), None, r"tags must lie in 0..2"),
        (torch.zeros(2, 3, 3), None, torch.tensor([3]), r"lengths must be integers of shape \(2,\)"),
        (torch.zeros(2, 3, 3), None, torch.tensor([3.0, 1.0]), r"lengths must be integers"),
        (torch.zeros(2, 3, 3), None, torch.tensor([4, 1]), r"lengths must lie in 0..3"),
        (torch.zeros(2, 3, 3), None, torch.tensor([-1, 1]), r"lengths must lie in 0..3"),
    ],
)
def test_argument_errors(emissions, tags, lengths, message):
    crf = CRF(3)
    with pytest.raises(ValueError, match=message):
        crf(emissions, tags, lengths) if tags is not None else crf.decode(emissions, lengths)
    if tags is None:
        with pytest.raises(ValueError, match=message):
            crf.log_partition(emissions, lengths)


def test_numpy_argument_errors():
    with pytest.raises(ValueError, match=r"emissions must be \[T, K\]"):
        viterbi_decode(np.zeros(3), np.zeros((3, 3)), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"transitions must be \[3, 3\]"):
        viterbi_decode(np.zeros((2, 3)), np.zeros((2, 2)), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="lengths must lie in 0..2"):
        viterbi_decode_batch(np.zeros((1, 2, 3)), np.array([3]), np.zeros((3, 3)), np.zeros(3), np.zeros(3))
