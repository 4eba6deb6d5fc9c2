"""Search: beam 1 is greedy decoding; a wide beam finds the best-scoring translation that brute force finds; a batch
translates as its sentences one by one; the same input gives the same output."""

import itertools

import numpy as np
import pytest
import torch

from rnnkit.tasks.translate.config import TranslatorConfig
from rnnkit.tasks.translate.network import TranslationNetwork
from rnnkit.tasks.translate.pieces import BOS_ID, EOS_ID
from rnnkit.tasks.translate.search import beam_search, greedy_search, length_penalty, top_k
from rnnkit.tasks.translate.torch_translator import TorchTranslator
from rnnkit.tasks.translate.translator import BANNED, pad

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(vocab=7, seed=0, **settings):
    """A random network over a tiny target vocabulary (3 real tokens after the 4 specials)."""
    torch.manual_seed(seed)
    config = TranslatorConfig(12, vocab, embedding_dim=8, encoder_hidden_size=6, decoder_hidden_size=10, **settings)
    return TorchTranslator(TranslationNetwork(config), None, None)


def sequence_log_prob(translator, source, tokens):
    """log p(tokens + </s> | source), step by step, with the search's banned tokens removed from the softmax's
    choices as the search removes them (they are scored as impossible, not renormalised)."""
    state, context = translator.encode(*pad([source]))
    total, previous = 0.0, BOS_ID
    for token in [*tokens, EOS_ID]:
        log_probs, state = translator.step(np.array([previous]), state, context)
        total += float(log_probs[0, token])
        previous = token
    return total


def brute_force(translator, source, max_length, alpha):
    real = range(4, translator.config.target_vocab_size)
    scored = []
    for n in range(max_length + 1):
        for tokens in itertools.product(real, repeat=n):
            raw = sequence_log_prob(translator, source, list(tokens))
            scored.append((raw / length_penalty(n + 1, alpha), list(tokens)))
    return sorted(scored, key=lambda x: -x[0])


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
@pytest.mark.parametrize("settings", [{}, {"attention": "bahdanau", "cell": "gru", "input_feeding": False}])
def test_a_wide_beam_finds_what_brute_force_finds(alpha, settings):
    translator = tiny(**settings)
    source, max_length = [5, 9, 4, 11], 4
    expected = brute_force(translator, source, max_length, alpha)[:5]
    state, context = translator.encode(*pad([source]))
    found = beam_search(translator.step, state, context, [max_length], BOS_ID, EOS_ID, 81, 5, alpha, BANNED)[0]
    assert [h.tokens for h in found] == [tokens for _, tokens in expected]
    np.testing.assert_allclose([h.score for h in found], [score for score, _ in expected], rtol=1e-5)


def markov_step(table):
    """A step function whose next-token scores depend on the previous token only: ``table`` [V, V]."""

    def step(tokens, state, context):
        return table[tokens] + 0 * context["x"][:, :1], {"n": state["n"] + 1}

    return step


def markov_table(vocab, seed):
    """Log-probabilities of the next token given the previous: random, except that ending at once (``</s>`` after
    ``<s>``) is likely and every other ``</s>`` unlikely but after ``4, 5, 6``, so that the best translation is long
    and found only by a search that goes on after its first finished one."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(vocab, vocab))
    logits[:, EOS_ID] = -3.0
    logits[BOS_ID, EOS_ID] = 1.5
    logits[BOS_ID, 4] = logits[4, 5] = logits[5, 6] = 4.0
    logits[6, EOS_ID] = 5.0
    return logits - np.log(np.exp(logits).sum(1, keepdims=True))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_beam_search_on_a_markov_chain_against_brute_force(seed, alpha):
    vocab, max_length = 8, 5
    table = markov_table(vocab, seed)
    scored = []
    for n in range(max_length + 1):
        for tokens in itertools.product(range(4, vocab), repeat=n):
            path = [BOS_ID, *tokens, EOS_ID]
            raw = sum(table[a, b] for a, b in itertools.pairwise(path))
            scored.append((raw / length_penalty(n + 1, alpha), list(tokens)))
    scored.sort(key=lambda x: -x[0])
    state, context = {"n": np.zeros((1, 1))}, {"x": np.zeros((1, 3))}
    for n_best in (1, 3):
        found = beam_search(
            markov_step(table), state, context, [max_length], BOS_ID, EOS_ID, 4**5, n_best, alpha, BANNED
        )
        assert [h.tokens for h in found[0]] == [tokens for _, tokens in scored[:n_best]]
        np.testing.assert_allclose([h.score for h in found[0]], [score for score, _ in scored[:n_best]])
    assert len(scored[0][1]) >= 3  # the test's point: the best is not the first to finish


def test_beam_one_is_greedy_decoding():
    for seed in range(3):
        translator = tiny(vocab=30, seed=seed)
        sources = [[5, 9, 4, 11], [7, 7], [4, 5, 6, 7, 8, 9, 10, 11], [10]]
        state, context = translator.encode(*pad(sources))
        limits = [6, 3, 10, 4]
        greedy = greedy_search(translator.step, state, context, limits, BOS_ID, EOS_ID, BANNED, 0.6)
        beam = beam_search(translator.step, state, context, limits, BOS_ID, EOS_ID, 1, 1, 0.6, BANNED)
        assert [h.tokens for h in greedy] == [b[0].tokens for b in beam]
        np.testing.assert_allclose([h.score for h in greedy], [b[0].score for b in beam])
        assert all(len(h.tokens) <= limit for h, limit in zip(greedy, limits, strict=True))


def test_a_batch_translates_as_its_sentences_one_by_one():
    translator = tiny(vocab=40, seed=3)
    rng = np.random.default_rng(1)
    sources = [list(rng.integers(4, 12, size=n)) for n in (3, 9, 1, 5, 5, 12, 2)]
    for beam in (1, 5):
        together = translator.search(sources, beam=beam, n_best=beam)
        alone = [translator.search([s], beam=beam, n_best=beam)[0] for s in sources]
        assert [[h.tokens for h in hs] for hs in together] == [[h.tokens for h in hs] for hs in alone]
        np.testing.assert_allclose(
            [h.score for hs in together for h in hs], [h.score for hs in alone for h in hs], rtol=1e-5
        )
        assert translator.search(sources, beam=beam) == translator.search(sources, beam=beam)


def test_n_best_lists_are_sorted_and_distinct():
    translator = tiny(vocab=40, seed=4)
    found = translator.search([[5, 6, 7], [8]], beam=5, n_best=5)
    for hypotheses in found:
        scores = [h.score for h in hypotheses]
        assert len(hypotheses) == 5 and scores == sorted(scores, reverse=True)
        assert len({tuple(h.tokens) for h in hypotheses}) == 5


def test_top_k_breaks_ties_by_position():
    values = np.array([[1.0, 3.0, 3.0, -np.inf, 2.0, 3.0]])
    assert top_k(values, 4).tolist() == [[1, 2, 5, 4]]
