"""``SequenceTagger``: the weights ``weight_shapes`` promises, scores that no padding changes, a character encoder
that is torch's bidirectional LSTM read word by word, two backends that agree, a body shared with the classifier by
parameter name, and ``TagTask``'s batches and losses computed by hand."""

import itertools

import numpy as np
import pytest
import torch
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from rnnkit.models import weight_shapes
from rnnkit.nn.characters import CharacterEncoder
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.classify.network import TextClassifier
from rnnkit.tasks.tag.config import TaggerConfig
from rnnkit.tasks.tag.network import SequenceTagger
from rnnkit.tasks.tag.objective import TagTask, network_inputs
from rnnkit.text import Vocab
from rnnkit.text.sentences import IGNORED, encode_sentences, sentence_batch
from rnnkit.training.objective import Batch

pytestmark = pytest.mark.usefixtures("one_thread")

SENTENCES = [
    ["Maria", "saw", "it", "."],
    ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "!"],
    ["Hi"],
    ["An", "extraordinarily-long-hyphenated-compound-word", "and", "3.14", "appear", "."],
    ["Dogs", "bark", "."],
]
TAGS = [
    ["PROPN", "VERB", "PRON", "PUNCT"],
    ["DET", "ADJ", "ADJ", "NOUN", "VERB", "ADP", "DET", "ADJ", "NOUN", "PUNCT"],
    ["INTJ"],
    ["DET", "ADJ", "CCONJ", "NUM", "VERB", "PUNCT"],
    ["NOUN", "VERB", "PUNCT"],
]
TAG_INDEX = {tag: i for i, tag in enumerate(sorted({t for s in TAGS for t in s}))}
# Words and characters the vocabularies hold: some test words are unknown (<unk>) to each, as at prediction.
VOCAB = Vocab.build([[t.lower() for t in s] for s in SENTENCES[:3]])
CHARACTERS = Vocab.build([list(t) for s in SENTENCES[:4] for t in s])


def config(characters=True, crf=False, cell="lstm", layers=2, backend="fused", **settings):
    return TaggerConfig(
        vocab_size=len(VOCAB),
        num_tags=len(TAG_INDEX),
        alphabet_size=len(CHARACTERS) if characters else 0,
        cell=cell,
        embedding_dim=6,
        char_embedding_dim=5,
        char_hidden_size=4,
        hidden_size=7,
        num_layers=layers,
        crf=crf,
        backend=backend,
        **settings,
    )


def tagger(seed=0, **settings):
    torch.manual_seed(seed)
    model = SequenceTagger(config(**settings)).eval()
    with torch.no_grad():  # a trained output bias and CRF are not near zero; make them count
        model.output.bias.normal_()
        if model.config.crf:
            for p in model.crf.parameters():
                p.normal_()
    return model


def encoded(sentences=SENTENCES, characters=True, tags=True):
    return encode_sentences(
        sentences, VOCAB, CHARACTERS if characters else None, True, TAGS if tags else None, TAG_INDEX
    )


def scores_of(model, batch):
    ids, lengths, spellings = network_inputs(batch)
    with torch.no_grad():
        return model(ids, lengths, spellings if model.config.characters else None)


def padded(batch, extra):
    """``batch`` with ``extra`` more columns of padding: ids 0, spelling row 0, targets ``IGNORED``."""
    pad = ((0, 0), (0, extra))
    tags = None if batch.tags is None else np.pad(batch.tags, pad, constant_values=IGNORED)
    return type(batch)(
        np.pad(batch.ids, pad), batch.lengths, np.pad(batch.forms, pad), batch.chars, batch.char_lengths, tags
    )


def as_batch(batch):
    ids, lengths, spellings = network_inputs(batch)
    return Batch(ids, lengths, torch.from_numpy(batch.tags), spellings)


@pytest.mark.parametrize(
    ("characters", "crf", "layers", "cell", "bidirectional"),
    [(*c, True) for c in itertools.product([False, True], [False, True], [1, 2], ["lstm", "gru"])]
    + [(True, True, 2, "lstm", False), (False, False, 1, "gru", False)],
)
def test_state_dict_is_weight_shapes(characters, crf, layers, cell, bidirectional):
    c = config(characters, crf, cell, layers, bidirectional=bidirectional)
    model = SequenceTagger(c)
    assert {name: tuple(t.shape) for name, t in model.state_dict().items()} == weight_shapes(c)
    assert any(name.startswith("characters.") for name in weight_shapes(c)) == characters
    assert ("crf.transitions" in weight_shapes(c)) == crf


@pytest.mark.parametrize(("backend", "characters"), list(itertools.product(["fused", "explicit"], [True, False])))
def test_a_sentences_scores_do_not_depend_on_its_batch(backend, characters):
    """Alone, or padded among longer sentences (whose spellings and longer words change the character batch too),
    a sentence gets the same scores: every layer, both directions and the character encoder stop at its length."""
    model = tagger(characters=characters, backend=backend)
    data = encoded(characters=characters)
    together = scores_of(model, sentence_batch(data, np.array([1, 0, 2, 3, 4])))
    for row, i in enumerate([1, 0, 2, 3, 4]):
        alone = scores_of(model, sentence_batch(data, np.array([i])))
        n = len(SENTENCES[i])
        torch.testing.assert_close(together[row, :n], alone[0, :n], atol=1e-5, rtol=0)
        torch.testing.assert_close(
            scores_of(model, padded(sentence_batch(data, np.array([i])), 3))[0, :n], alone[0, :n], atol=1e-5, rtol=0
        )


@pytest.mark.parametrize("crf", [True, False])
def test_padding_changes_no_loss_and_no_decoding(crf):
    """The task's loss (targets ``IGNORED`` at padding) and the CRF's best paths are the same however far a batch is
    padded: padding is never scored, never a transition, never the last tag."""
    model = tagger(crf=crf)
    data = encoded()
    task = TagTask(data, None, batch_size=8)
    batch = sentence_batch(data, np.array([0, 2, 4]))
    loss = task.loss(model, as_batch(batch)).loss
    for extra in (1, 5):
        longer = padded(batch, extra)
        assert task.loss(model, as_batch(longer)).loss.item() == pytest.approx(loss.item(), abs=1e-5)
        if crf:
            lengths = torch.from_numpy(batch.lengths)
            best = model.crf.decode(scores_of(model, batch), lengths)
            best_padded = model.crf.decode(scores_of(model, longer), lengths)
            assert torch.equal(best_padded[:, : best.shape[1]], best) and not best_padded[:, best.shape[1] :].any()


@pytest.mark.parametrize("backend", ["fused", "explicit"])
def test_the_character_encoder_is_a_bidirectional_lstm_read_word_by_word(backend):
    """Checked against ``torch.nn.LSTM(bidirectional=True)`` holding the same weights, run on each word alone
    (no padding) and on the packed batch: the vector of a word is [forward after its last letter ; backward after
    its first]."""
    torch.manual_seed(1)
    encoder = CharacterEncoder(len(CHARACTERS), 5, 4, backend=backend).eval()
    reference = torch.nn.LSTM(5, 4, batch_first=True, bidirectional=True)
    state = {k.removeprefix("encoder."): v for k, v in encoder.state_dict().items() if k.startswith("encoder.")}
    reference.load_state_dict(state)  # strict: the names are torch's own
    batch = sentence_batch(encoded(), np.arange(len(SENTENCES)))
    chars, lengths = torch.from_numpy(batch.chars), torch.from_numpy(batch.char_lengths)
    assert len(set(lengths.tolist())) > 3  # ragged: the test means something
    with torch.no_grad():
        got = encoder(chars, lengths)
        assert got.shape == (len(chars), 8)
        for row, n in enumerate(lengths.tolist()):
            _, (h, _) = reference(encoder.embedding(chars[row : row + 1, :n]))
            torch.testing.assert_close(got[row], torch.cat([h[0, 0], h[1, 0]]), atol=1e-5, rtol=0)
        packed = pack_padded_sequence(encoder.embedding(chars), lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = reference(packed)
        torch.testing.assert_close(got, torch.cat([h[0], h[1]], dim=1), atol=1e-5, rtol=0)


@pytest.mark.parametrize(("cell", "characters"), [("lstm", True), ("gru", True), ("lstm", False)])
def test_fused_and_explicit_backends_give_the_same_scores(cell, characters):
    fused = tagger(cell=cell, characters=characters, crf=True)
    explicit = SequenceTagger(config(cell=cell, characters=characters, crf=True, backend="explicit")).eval()
    explicit.load_state_dict(fused.state_dict())
    batch = sentence_batch(encoded(characters=characters), np.arange(len(SENTENCES)))
    valid = torch.from_numpy(np.arange(batch.ids.shape[1])[None, :] < batch.lengths[:, None])
    torch.testing.assert_close(scores_of(explicit, batch)[valid], scores_of(fused, batch)[valid], atol=1e-5, rtol=0)


@pytest.mark.parametrize(("cell", "layers"), [("lstm", 1), ("gru", 2)])
def test_the_body_loads_into_a_classifier_by_name(cell, layers):
    """A tagger without characters and a bidirectional classifier of the same sizes share ``embedding.*`` and
    ``encoder.*``: each one's body loads into the other by parameter name (only the heads, both named ``output.*``,
    differ)."""
    model = tagger(characters=False, cell=cell, layers=layers)
    classifier = TextClassifier(
        ClassifierConfig(
            vocab_size=len(VOCAB), num_classes=3, cell=cell, embedding_dim=6, hidden_size=7, num_layers=layers
        )
    )

    def body(network):
        return {k: v for k, v in network.state_dict().items() if k.startswith(("embedding.", "encoder."))}

    assert {k: v.shape for k, v in body(model).items()} == {k: v.shape for k, v in body(classifier).items()}
    missing, unexpected = classifier.load_state_dict(body(model), strict=False)
    assert set(missing) == {"output.weight", "output.bias"} and not unexpected
    assert all(torch.equal(classifier.state_dict()[k], v) for k, v in body(model).items())
    fresh = SequenceTagger(config(characters=False, cell=cell, layers=layers))
    missing, unexpected = fresh.load_state_dict(body(classifier), strict=False)
    assert set(missing) == {"output.weight", "output.bias"} and not unexpected
    assert torch.equal(fresh.encoder.weight_hh_l0_reverse, model.encoder.weight_hh_l0_reverse)


def test_batches_ignore_exactly_the_padding():
    data = encoded()
    task = TagTask(data, None, batch_size=2, seed=3)
    seen = 0
    for batch in task.batches(0):
        valid = torch.arange(batch.ids.shape[1])[None, :] < batch.lengths[:, None]
        assert torch.all((batch.targets == IGNORED) == ~valid)
        assert torch.all(batch.ids[~valid] == 0) and torch.all(batch.targets[valid] >= 0)
        seen += int(valid.sum())
        for ids, targets, n in zip(batch.ids, batch.targets, batch.lengths, strict=True):
            i = next(i for i, s in enumerate(SENTENCES) if VOCAB.encode([t.lower() for t in s]) == ids[:n].tolist())
            assert targets[:n].tolist() == [TAG_INDEX[t] for t in TAGS[i]]
    assert seen == sum(map(len, SENTENCES))


@pytest.mark.parametrize("crf", [False, True])
def test_the_loss_is_the_mean_over_real_tokens(crf):
    """Without a CRF, the cross-entropy of each real token's tag averaged over the tokens; with one, minus the log
    probability of each gold sequence, summed and divided by the tokens."""
    model = tagger(crf=crf)
    data = encoded()
    batch = as_batch(sentence_batch(data, np.array([1, 2, 3])))
    result = TagTask(data, None, batch_size=8).loss(model, batch)
    scores = model(batch.ids, batch.lengths, batch.spellings)
    tokens = int(batch.lengths.sum())
    assert result.count == result.tokens == tokens == len(SENTENCES[1]) + len(SENTENCES[2]) + len(SENTENCES[3])
    if crf:
        expected = -model.crf.log_likelihood(scores, batch.targets, batch.lengths).sum() / tokens
    else:
        rows = [(b, t) for b, n in enumerate(batch.lengths.tolist()) for t in range(n)]
        expected = torch.stack([F.cross_entropy(scores[b, t], batch.targets[b, t]) for b, t in rows]).mean()
        predicted = scores.argmax(2)
        assert result.correct == sum(int(predicted[b, t] == batch.targets[b, t]) for b, t in rows)
    torch.testing.assert_close(result.loss, expected, atol=1e-6, rtol=1e-6)
