"""Generation: sampling settings, the next token within its allowed set, the prompt read once, the state carried."""

import numpy as np
import pytest
import torch

from rnnkit.errors import RnnkitError
from rnnkit.tasks.lm import sampling as generation
from rnnkit.tasks.lm.config import LanguageModelConfig
from rnnkit.tasks.lm.network import LanguageModel
from rnnkit.tasks.lm.sampling import check_sampling, generate, next_token, start_token_id
from rnnkit.text import PAD_ID, UNK_ID

LOGITS = np.array([0.0, 0.5, 3.0, 2.0, 1.0, -1.0, 2.5, 0.2])  # by score: 2, 6, 3, 4, 1, 7, 0, 5


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(temperature=0), "--temperature must be greater than 0, got 0"),
        (dict(temperature=-1.0), "--temperature must be greater than 0, got -1.0"),
        (dict(temperature=float("nan")), "--temperature must be greater than 0, got nan"),
        (dict(temperature=float("inf")), "--temperature must be a finite number, got inf"),
        (dict(top_p=1.5), r"--top-p must be in \(0, 1\], got 1.5"),
        (dict(top_p=0), r"--top-p must be in \(0, 1\], got 0"),
        (dict(length=0), "--length must be at least 1"),
        (dict(top_k=0), "--top-k must be at least 1"),
        (dict(top_k=2.5), "--top-k must be at least 1"),
    ],
)
def test_bad_settings_are_refused_in_one_line(settings, message):
    arguments = {"temperature": 1.0, "top_k": None, "top_p": None, "length": 5, **settings}
    with pytest.raises(RnnkitError, match=f"^{message}") as error:
        check_sampling(**arguments)
    assert "\n" not in str(error.value)
    with pytest.raises(RnnkitError, match=f"^{message}"):  # generate checks before it runs anything
        generate(None, None, [1], arguments.pop("length"), np.random.default_rng(0), **arguments)


def test_valid_settings_pass():
    check_sampling(0.8, 40, 0.9, 200)
    check_sampling(1, None, 1, 1)


def test_top_k_1_and_a_cold_temperature_are_the_argmax():
    rng = np.random.default_rng(0)
    assert next_token(LOGITS, rng, top_k=1) == 2
    assert next_token(LOGITS, rng, top_k=1, exclude=[2]) == 6
    assert next_token(np.array([1.0, 3.0, 3.0, 0.0]), rng, top_k=1) == 1  # ties: the lowest id
    assert all(next_token(LOGITS, rng, temperature=1e-4) == 2 for _ in range(200))


@pytest.mark.parametrize(
    ("settings", "allowed"),
    [
        (dict(top_k=3), {2, 6, 3}),
        (dict(top_k=3, exclude=[6]), {2, 3, 4}),
        (dict(top_p=0.5), {2, 6}),  # softmax: 0.42, 0.25, 0.15, ... -> 0.42 < 0.5 <= 0.67
        (dict(top_p=0.3), {2}),
        (dict(top_k=2, top_p=0.9), {2, 6}),
        (dict(top_p=0.5, temperature=3.0), {2, 6, 3}),  # flatter: 0.22, 0.19, 0.16, ... -> a third id
        (dict(exclude=[PAD_ID, UNK_ID]), {2, 3, 4, 5, 6, 7}),
    ],
)
def test_draws_never_leave_the_allowed_set(settings, allowed):
    rng = np.random.default_rng(1)
    drawn = {next_token(LOGITS, rng, **settings) for _ in range(3000)}
    assert drawn == allowed  # all of them drawn, and nothing else


def test_draws_follow_the_softmax():
    rng = np.random.default_rng(2)
    draws = np.array([next_token(LOGITS, rng, temperature=0.7) for _ in range(20000)])
    expected = np.exp(LOGITS / 0.7) / np.exp(LOGITS / 0.7).sum()
    np.testing.assert_allclose(np.bincount(draws, minlength=len(LOGITS)) / len(draws), expected, atol=0.015)


def test_everything_excluded_is_an_error():
    with pytest.raises(ValueError, match="excluded"):
        next_token(np.zeros(2), np.random.default_rng(0), exclude=[0, 1])


class Markov:
    """A step function whose next-token scores depend only on the last token; counts its calls."""

    def __init__(self, vocab_size=6, seed=0):
        self.table = np.random.default_rng(seed).normal(size=(vocab_size, vocab_size)) * 2
        self.calls = []

    def __call__(self, ids, state):
        assert ids.dtype == np.int64 and ids.shape[0] == 1
        self.calls.append(ids[0].tolist())
        return self.table[ids[0]][None], state + ids.shape[1]  # (1, t, V); the state counts the tokens read


def test_the_prompt_is_read_once_then_one_token_a_step():
    step = Markov()
    tokens = list(generate(step, 0, [2, 3, 4], 5, np.random.default_rng(0), exclude=()))
    assert len(tokens) == 5
    assert step.calls[0] == [2, 3, 4]  # the whole prompt in one call
    assert step.calls[1:] == [[t] for t in tokens[:-1]]  # then each drawn token fed back: 1 + (length - 1) calls
    assert len(step.calls) == 5


def test_a_long_prompt_is_read_in_pieces_with_the_state_carried(monkeypatch):
    """A prompt longer than ``PROMPT_PIECE`` is read a piece at a time: the scores of a whole prompt of a word
    model are [P, V] floats (3.6 GB for 120 KB of text), a piece's a bounded few. Here the scores depend on the
    state (how many tokens were read before), so the text drawn is the same only if each piece starts from the
    state the one before it left."""

    class Counting(Markov):
        def __call__(self, ids, state):
            self.calls.append(ids[0].tolist())
            rows = (ids[0] + state + np.arange(ids.shape[1])) % len(self.table)
            return self.table[rows][None], state + ids.shape[1]

    prompt = list(np.random.default_rng(1).integers(2, 6, size=1_000))
    whole, pieces = Counting(), Counting()
    monkeypatch.setattr(generation, "PROMPT_PIECE", 10_000)
    expected = list(generate(whole, 0, prompt, 20, np.random.default_rng(3), exclude=()))
    assert whole.calls[0] == prompt  # read whole
    monkeypatch.setattr(generation, "PROMPT_PIECE", 300)
    assert list(generate(pieces, 0, prompt, 20, np.random.default_rng(3), exclude=())) == expected
    assert [len(call) for call in pieces.calls[:4]] == [300, 300, 300, 100]
    assert [t for call in pieces.calls[:4] for t in call] == prompt and pieces.calls[4:] == whole.calls[1:]


def test_greedy_equals_cold_sampling_and_the_same_seed_repeats():
    step = Markov()
    greedy = list(generate(step, 0, [2], 12, np.random.default_rng(0), top_k=1, exclude=()))
    last, by_hand = 2, []
    for _ in range(12):
        last = int(np.argmax(step.table[last]))
        by_hand.append(last)
    assert greedy == by_hand
    assert list(generate(Markov(), 0, [2], 12, np.random.default_rng(5), temperature=1e-4, exclude=())) == greedy
    first = list(generate(Markov(), 0, [2], 30, np.random.default_rng(7), temperature=1.5))
    again = list(generate(Markov(), 0, [2], 30, np.random.default_rng(7), temperature=1.5))
    other = list(generate(Markov(), 0, [2], 30, np.random.default_rng(8), temperature=1.5))
    assert first == again and first != other
    assert PAD_ID not in first and UNK_ID not in first  # excluded by default


def test_an_empty_prompt_starts_from_the_start_token():
    step = Markov()
    tokens = list(generate(step, 0, [], 3, np.random.default_rng(0), start_id=4))
    assert step.calls[0] == [4] and len(tokens) == 3
    with pytest.raises(ValueError, match="start_id"):
        generate(step, 0, [], 3, np.random.default_rng(0))
    assert start_token_id(["<pad>", "<unk>", "the", "<eol>"]) == 3
    assert start_token_id(["<pad>", "<unk>", " ", "\n", "e"]) == 3
    assert start_token_id(["<pad>", "<unk>", "e", "t"]) == 2  # the most frequent
    assert start_token_id(["<pad>", "<unk>"]) == UNK_ID


def test_a_language_model_generates_what_one_long_pass_predicts():
    torch.manual_seed(0)
    model = LanguageModel(LanguageModelConfig(vocab_size=15, cell="lstm", embedding_dim=8, hidden_size=12)).eval()

    def step(ids, state):
        with torch.inference_mode():
            logits, state = model(torch.from_numpy(ids), state)
        return logits.numpy(), state

    prompt = [3, 7, 2, 9]
    tokens = list(generate(step, None, prompt, 10, np.random.default_rng(0), top_k=1))
    with torch.inference_mode():  # the same text read from its start in one pass: the carried state was right
        logits, _ = model(torch.tensor([prompt + tokens[:-1]]))
    allowed = logits[0, len(prompt) - 1 :].numpy().copy()
    allowed[:, [PAD_ID, UNK_ID]] = -np.inf
    assert tokens == allowed.argmax(1).tolist()
