"""``model.inspect(text)`` and ``rnnkit inspect``: every number checked against an independent computation.

The prediction after each token against the network run on that prefix (and, for a forward network reading its
last state, against the classifier layer applied to the fused kernel's state at that token); the states against
the fused forward pass; gates in [0, 1]; probabilities summing to 1; occlusion of a token already read as ``<unk>``
changing nothing; integrated gradients adding up to the prediction minus the baseline's (completeness); a CRF
tagger's distributions against the marginals found by brute force over every tag sequence.
"""

import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import rnnkit
from rnnkit.cli import main
from rnnkit.errors import RnnkitError, RnnkitWarning
from rnnkit.inspection.units import correlations
from rnnkit.tasks.classify.network import members_of
from rnnkit.tasks.lm.inspect import text_properties

pytestmark = pytest.mark.usefixtures("one_thread")

DATA = Path(__file__).parents[1] / "data"
# Word embeddings alone (subwords=0): these tests compute the word vectors by hand, and an unknown word is <unk>
# and nothing more (tests/models/test_subword_networks.py inspects a network that reads sub-words).
SMALL = dict(embedding_dim=12, hidden=10, epochs=1, adversarial=0, subwords=0, quiet=True)
TEXT = "what is the zqxjk capital of france ?"  # "zqxjk" was never seen: it is read as <unk>


def train(tmp_path_factory, name, data="trec_train.csv", **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RnnkitWarning)  # one epoch learns little, and says so
        out = tmp_path_factory.mktemp("inspect") / name
        return rnnkit.train(DATA / data, out=str(out), **{**SMALL, **options})


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    return train(tmp_path_factory, "ensemble", ensemble=2, layers=2)


@pytest.fixture(scope="module")
def forward_gru(tmp_path_factory):
    return train(tmp_path_factory, "gru", cell="gru", bidirectional=False, pooling="last", ensemble=1)


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    return train(tmp_path_factory, "bag", model="bag", ensemble=1)


@pytest.fixture(scope="module")
def crf_tagger(tmp_path_factory):
    return train(tmp_path_factory, "tagger", "ewt_train_sample.conllu", cell="gru", crf=True, char_hidden=8, layers=1)


@pytest.fixture(scope="module")
def char_lm(tmp_path_factory):
    return train(tmp_path_factory, "lm", "shakespeare_sample.txt", task="lm", cell="lstm", batch_size=8, window=32)


def assert_distributions(rows, tolerance=1e-4):
    rows = np.asarray(rows)
    assert rows.min() >= 0 and rows.max() <= 1
    np.testing.assert_allclose(rows.sum(-1), 1, atol=tolerance)


def assert_gates(data):
    for layer in data["layers"]:
        for values in layer["gates"].values():
            values = np.asarray(values)
            assert values.shape == (len(data["tokens"]), len(layer["hidden"][0]))
            assert values.min() >= 0 and values.max() <= 1
    assert data["gates"] == data["layers"][-1]["gates"]


# ------------------------------------------------------------------------------------------------- classifier
def test_an_ensemble_is_read_member_by_member(ensemble):
    inspection = ensemble.inspect(TEXT)
    data = inspection.data
    tokens = ensemble.tokenizer(TEXT)
    assert data["tokens"] == tokens and data["unknown"] == [t not in ensemble.vocab for t in tokens]
    assert data["unknown"][tokens.index("zqxjk")]
    assert_distributions(data["prediction"]["by_prefix"])
    np.testing.assert_allclose(data["prediction"]["probabilities"], ensemble.predict_proba([TEXT])[0], atol=1e-4)
    assert len(inspection.members) == 2 and [m.data["model"]["member"] for m in inspection.members] == [1, 2]
    for k, (member, network) in enumerate(zip(inspection.members, members_of(ensemble.model), strict=True)):
        m = member.data
        assert m["tokens"] == tokens and m["model"]["member"] == k + 1
        assert len(m["layers"]) == 2 and m["layers"][0]["directions"] == 2
        assert_gates(m)
        assert set(m["gates"]) == {"input", "forget", "output"}
        ids = torch.tensor([ensemble.vocab.encode(tokens)])
        with torch.no_grad():  # the top layer's states are what the fused forward pass outputs
            outputs, _ = network.encoder(network.embed(ids), torch.tensor([len(tokens)]))
        np.testing.assert_allclose(m["layers"][-1]["hidden"], outputs[0].numpy(), atol=1e-4)
        assert sorted(m["layers"][0]["order"]) == list(range(20))
        assert all(len(step) == 3 for step in m["layers"][0]["changes"])
    one = ensemble.inspect(TEXT, member=2).data
    assert "members" not in one and one["model"]["member"] == 2
    assert one["layers"][0]["hidden"] == data["members"][1]["layers"][0]["hidden"]
    with pytest.raises(RnnkitError, match="--member must be in 1..2"):
        ensemble.inspect(TEXT, member=3)


def test_the_prediction_after_each_token_is_the_prediction_of_that_prefix(ensemble):
    data = ensemble.inspect(TEXT).data
    tokens = data["tokens"]
    prefixes = [" ".join(tokens[: t + 1]) for t in range(len(tokens))]
    np.testing.assert_allclose(data["prediction"]["by_prefix"], ensemble.predict_proba(prefixes), atol=1e-4)
    assert data["prediction"]["method"] == "prefix"  # bidirectional: each prefix is read anew


def test_a_forward_network_reading_its_last_state_predicts_from_the_state_at_each_token(forward_gru):
    data = forward_gru.inspect(TEXT).data
    network = forward_gru.model
    assert data["prediction"]["method"] == "state"
    states = torch.tensor(data["layers"][-1]["hidden"])  # (T, H): the traced state after each token
    with torch.no_grad():
        expected = torch.softmax(network.output(states), dim=-1).numpy()
    np.testing.assert_allclose(data["prediction"]["by_prefix"], expected, atol=1e-4)
    assert set(data["gates"]) == {"reset", "update"}
    assert_gates(data)


def test_occlusion_of_a_token_already_unknown_changes_nothing(forward_gru, ensemble):
    for pipeline in (forward_gru, ensemble):
        data = pipeline.inspect(TEXT).data
        occlusion = data["attributions"]["occlusion"]
        unknown = data["tokens"].index("zqxjk")
        assert occlusion["unk"][unknown] == 0.0
        assert len(occlusion["unk"]) == len(occlusion["removed"]) == len(data["tokens"])
        assert any(abs(v) > 0 for v in occlusion["unk"])
        # removing a token is reading the text without it
        target = data["labels"].index(data["attributions"]["target"])
        tokens = data["tokens"]
        without = [" ".join(tokens[:t] + tokens[t + 1 :]) for t in range(len(tokens))]
        expected = data["prediction"]["probabilities"][target] - pipeline.predict_proba(without)[:, target]
        np.testing.assert_allclose(occlusion["removed"], expected, atol=1e-4)


def test_integrated_gradients_add_up_to_the_prediction_minus_the_baseline(forward_gru, ensemble, bag):
    pytest.importorskip("captum")
    for pipeline in (forward_gru, bag):
        data = pipeline.inspect(TEXT).data
        network = pipeline.model
        target = data["labels"].index(data["attributions"]["target"])
        ig = data["attributions"]["integrated_gradients"]
        length = torch.tensor([len(data["tokens"])])
        with torch.no_grad():
            zeros = torch.zeros(1, len(data["tokens"]), network.config.embedding_dim)
            baseline = float(torch.softmax(network.read(zeros, length), -1)[0, target])
        predicted = data["prediction"]["probabilities"][target]
        assert sum(ig["values"]) == pytest.approx(predicted - baseline, abs=2e-3)  # completeness
        assert ig["delta"] < 2e-3
    ig = ensemble.inspect(TEXT).data["attributions"]["integrated_gradients"]  # the members' mean, still complete
    assert ig["delta"] < 2e-3


def test_the_bag_of_embeddings_shows_its_attributions_and_says_it_has_no_state(bag):
    inspection = bag.inspect(TEXT)
    data = inspection.data
    assert data["stateful"] is False and "no state" in data["note"]
    assert data["layers"] == [] and data["gates"] == {}
    # An unknown word replaced by <unk> changes nothing: zero but for the rounding of a sum taken in another order
    # (1.5e-8 on an Intel CPU whose BLAS adds in another order than the AMD one this was written on).
    assert data["attributions"]["occlusion"]["unk"][data["tokens"].index("zqxjk")] == pytest.approx(0.0, abs=1e-6)
    assert "no state" in inspection.summary() and "no state" in inspection.html()


def test_a_text_cut_by_max_length_says_so(tmp_path_factory):
    pipeline = train(tmp_path_factory, "short", max_length=4, ensemble=1)
    data = pipeline.inspect(TEXT).data
    assert len(data["tokens"]) == 4 and data["truncated"] == len(pipeline.tokenizer(TEXT)) - 4


def test_a_text_without_tokens_is_refused(forward_gru):
    with pytest.raises(RnnkitError, match="no token"):
        forward_gru.inspect("   ")


# ------------------------------------------------------------------------------------------------- tagger
def test_a_crf_taggers_distributions_are_the_exact_marginals(crf_tagger):
    sentence = ["I", "saw", "ducks"]
    data = crf_tagger.inspect(sentence).data
    assert data["prediction"]["tags"] == crf_tagger.tag([sentence])[0]
    assert_distributions(data["prediction"]["probabilities"])
    assert_gates(data)
    assert set(data["gates"]) == {"reset", "update"}
    # brute force: the probability of every one of the K^3 tag sequences, summed by the tag at each position
    from rnnkit.tasks.tag.objective import network_inputs
    from rnnkit.text.sentences import sentence_batch

    network = crf_tagger.model
    ids, lengths, spellings = network_inputs(sentence_batch(crf_tagger.encode([sentence]), np.array([0])))
    with torch.no_grad():
        scores = network(ids, lengths, spellings)
    tags = len(crf_tagger.labels)
    paths = torch.tensor(list(itertools.product(range(tags), repeat=len(sentence))))  # (K^T, T)
    with torch.no_grad():
        p = network.crf.log_likelihood(scores.expand(len(paths), -1, -1), paths).exp()
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-4)
    marginals = np.zeros((len(sentence), tags))
    for t in range(len(sentence)):
        np.add.at(marginals[t], paths[:, t].numpy(), p.numpy())
    np.testing.assert_allclose(data["prediction"]["probabilities"], marginals, atol=1e-4)


def test_a_tagger_reads_a_raw_sentence_through_its_tokenizer(crf_tagger):
    data = crf_tagger.inspect("I don't know.").data
    assert data["tokens"] == crf_tagger.tokenize("I don't know.")
    assert data["attributions"] is None and data["labels"] == list(crf_tagger.labels)


# ------------------------------------------------------------------------------------------------- language model
def test_a_language_model_gives_the_probability_of_what_follows(char_lm):
    text = "ROMEO:\nI am"
    data = char_lm.inspect(text).data
    tokens = data["tokens"]
    assert "".join(tokens) == text
    following = data["prediction"]["next"]
    ids = torch.tensor([char_lm.vocab.encode(tokens)])
    with torch.no_grad():
        logits, _ = char_lm.model(ids)
    p = torch.softmax(logits[0], -1)
    for t, step in enumerate(following[:-1]):
        assert step["token"] == tokens[t + 1]
        assert step["probability"] == pytest.approx(float(p[t, ids[0, t + 1]]), abs=1e-5)
        assert [q for _, q in step["top"]] == sorted((q for _, q in step["top"]), reverse=True)
    assert following[-1]["token"] is None and following[-1]["probability"] is None
    nll = [-np.log(s["probability"]) for s in following[:-1]]
    assert data["prediction"]["perplexity"] == pytest.approx(float(np.exp(np.mean(nll))), rel=1e-3)
    assert set(data["gates"]) == {"input", "forget", "output"} and "cell" in data["layers"][0]


# ------------------------------------------------------------------------------------------------- units
def test_text_properties_are_counted_by_hand():
    tokens = list('a "b(c)" d\n(e')
    properties = text_properties(tokens)
    assert properties["inside quotes"].tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    assert properties["position in line"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1]
    assert properties["bracket depth"].tolist() == [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1]


def test_correlations_are_pearsons_r():
    rng = np.random.default_rng(0)
    activations, target = rng.normal(size=(50, 4)), rng.normal(size=50)
    activations[:, 3] = 1.0  # a constant unit correlates with nothing
    expected = [np.corrcoef(activations[:, u], target)[0, 1] for u in range(3)] + [0.0]
    np.testing.assert_allclose(correlations(activations, target), expected, atol=1e-12)


def test_units_of_a_language_model_and_a_classifier(char_lm, forward_gru, bag):
    report = char_lm.find_units((DATA / "shakespeare_sample.txt").read_text(), max_tokens=3000)
    data = report.data
    assert data["tokens"] == 3000 and data["format"] == "rnnkit-units"
    names = {p["name"] for p in data["properties"]} | set(data["absent"])
    assert names == {"inside quotes", "position in line", "bracket depth"}
    line = next(p for p in data["properties"] if p["name"] == "position in line")
    assert -1 <= line["correlation"] <= 1 and line["state"] in ("hidden", "cell")
    assert len(line["passage"]["tokens"]) == len(line["passage"]["activation"]) > 0
    texts = (DATA / "trec_test.csv").read_text().splitlines()[1:60]
    classes = forward_gru.find_units(texts).data
    assert all(p["name"].startswith("class: ") for p in classes["properties"]) and classes["texts"] == 59
    assert "position in line" in report.summary()
    with pytest.raises(RnnkitError, match="no state"):
        bag.find_units(texts)


# ------------------------------------------------------------------------------------------------- outputs
def test_saving_adds_to_a_directory_and_never_overwrites(ensemble, tmp_path):
    pytest.importorskip("matplotlib")
    inspection = ensemble.inspect(TEXT)
    first = inspection.save(tmp_path / "out")
    names = sorted(p.name for p in first)
    stem = "inspect-what-is-the-zqxjk-capital-of-france"
    assert names == sorted([f"{stem}.html", f"{stem}.json", f"{stem}.member1.png", f"{stem}.member2.png"])
    before = {p: p.read_bytes() for p in first}
    second = inspection.save(tmp_path / "out", ["json"])
    assert [p.name for p in second] == [f"{stem}-2.json"]
    assert all(p.read_bytes() == data for p, data in before.items())
    page = (tmp_path / "out" / f"{stem}.html").read_text()
    assert "http://" not in page and "https://" not in page and "member 2" in page
    assert json.loads((tmp_path / "out" / f"{stem}.json").read_text()) == json.loads(inspection.to_json())


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_the_command_prints_writes_and_refuses_in_one_line(ensemble, char_lm, tmp_path):
    model = ensemble.run_dir
    result = cli("inspect", model, TEXT)
    assert result.exit_code == 0 and "P(" in result.output and "zqxjk" in result.output
    result = cli("inspect", model, TEXT, "--format", "json", "--member", "1")
    assert result.exit_code == 0 and json.loads(result.output)["model"]["member"] == 1
    result = cli("inspect", model, TEXT, "--out", tmp_path / "o", "--format", "html", "--format", "json")
    assert result.exit_code == 0 and len(list((tmp_path / "o").iterdir())) == 2
    for args, fragment in [
        ((model,), "give a TEXT"),
        ((model, TEXT, "--format", "png"), "give --out"),
        ((model, TEXT, "--member", "3"), "--member must be in 1..2"),
        ((char_lm.run_dir, "x", "--member", "1"), "--member applies to an ensemble"),
    ]:
        result = cli("inspect", *args)
        assert result.exit_code == 2, result.output
        assert fragment in result.output and "Traceback" not in result.output
    units = cli("inspect", char_lm.run_dir, "--units", DATA / "shakespeare_sample.txt", "--max-tokens", 800)
    assert units.exit_code == 0 and "position in line" in units.output
