"""A classifier that reads sub-words (``--subwords``): a word never seen in training gets a vector of its own, from
its n-grams; the ONNX graph (and an exported file, run without torch) gives torch's probabilities; a saved model
reads texts as it did in training; inspection's prefixes and occlusion carry each token's spelling with it."""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from checks import one_line_error

import rnnkit
from rnnkit.errors import RnnkitError, RnnkitWarning
from rnnkit.export import export_onnx
from rnnkit.tasks import build as build_model
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.classify.export import random_batches, random_spellings
from rnnkit.tasks.classify.predictor import OnnxSession
from rnnkit.text import UNK_ID
from rnnkit.text.spellings import Spellings
from rnnkit.text.subwords import Subwords

pytestmark = pytest.mark.usefixtures("one_thread")

DATA = Path(__file__).parents[1] / "data"
TEXTS = ["What is the capital of Frannce ?", "Who wrote Hamlett ?", "How many zqxjkian moons ?"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("subwords") / "model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RnnkitWarning)
        pipeline = rnnkit.train(
            DATA / "trec_train.csv", subwords=5000, ensemble=1, epochs=2, hidden=16, embedding_dim=16, out=out,
            quiet=True,
        )  # fmt: skip
    return pipeline, out


def test_a_word_never_seen_in_training_gets_a_vector_of_its_own(trained):
    pipeline, _ = trained
    network, subwords = pipeline.model.eval(), pipeline.subwords
    words = ["zqxjkian", "Frannce", "france"]
    assert [pipeline.vocab.encode([w])[0] for w in words[:2]] == [UNK_ID, UNK_ID]
    forms, ngrams = subwords.table(words)
    ids = torch.tensor([[UNK_ID, UNK_ID, pipeline.vocab.encode(["france"])[0], UNK_ID]])
    spellings = Spellings(torch.tensor([[*forms.tolist(), 0]]), ngrams=torch.from_numpy(ngrams))
    with torch.no_grad():
        vectors = network.embed(ids, spellings=spellings)[0]  # unseen, unseen, known, <unk> with no spelling
        unk = network.embedding.weight[UNK_ID]
    assert torch.equal(vectors[3], unk)
    assert not torch.allclose(vectors[0], unk) and not torch.allclose(vectors[1], unk)
    assert not torch.allclose(vectors[0], vectors[1])
    expected = unk + network.subwords.weight[torch.tensor(subwords("zqxjkian"))].mean(0)  # E[unk] + mean of n-grams
    torch.testing.assert_close(vectors[0], expected)


@pytest.mark.parametrize("settings", [{}, {"members": 2, "cell": "gru", "pooling": "mean"}, {"pooling": "last"}])
def test_the_onnx_graph_with_subwords_gives_torchs_probabilities(settings):
    config = ClassifierConfig(vocab_size=40, num_classes=3, hidden_size=8, embedding_dim=6, subwords=25, **settings)
    torch.manual_seed(0)
    network = build_model(config).eval()
    session = OnnxSession(config, {k: v.numpy() for k, v in network.state_dict().items()})
    rng = np.random.default_rng(3)
    for ids, lengths in random_batches(40):
        spellings = random_spellings(ids, 25, rng)
        with torch.inference_mode():
            logits = network(
                torch.from_numpy(ids), torch.from_numpy(lengths), spellings=spellings.map(torch.from_numpy)
            )
        np.testing.assert_allclose(session(ids, lengths, spellings), torch.softmax(logits, 1).numpy(), atol=1e-6)


def test_a_saved_model_reads_texts_as_in_training_on_torch_onnxruntime_and_an_exported_file(trained, tmp_path):
    pipeline, out = trained
    pipeline.engine = "torch"
    expected = pipeline.predict_proba(TEXTS)
    loaded = rnnkit.load(out)
    assert loaded.subwords.to_dict() == {"buckets": 5000, "min_n": 3, "max_n": 6}
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), expected, atol=1e-5)  # onnxruntime
    assert export_onnx(out, tmp_path / "m.onnx") < 1e-5
    code = (
        "import sys; from rnnkit.loading import load; import numpy as np; "
        f"p = load({str(tmp_path / 'm.onnx')!r}); print(p.predict_proba({TEXTS!r}).tolist()); "
        "assert 'torch' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(np.array(eval(result.stdout)), expected, atol=1e-5)


def test_inspection_carries_each_tokens_spelling_with_it(trained):
    pipeline, _ = trained
    text = "how many zqxjkian moons orbit marss ?"
    data = pipeline.inspect(text).data
    tokens = data["tokens"]
    assert data["unknown"][tokens.index("zqxjkian")]
    prefixes = [" ".join(tokens[: t + 1]) for t in range(len(tokens))]
    np.testing.assert_allclose(data["prediction"]["by_prefix"], pipeline.predict_proba(prefixes), atol=1e-4)
    occlusion = data["attributions"]["occlusion"]
    target = data["labels"].index(data["attributions"]["target"])
    without = [" ".join(tokens[:t] + tokens[t + 1 :]) for t in range(len(tokens))]
    expected = data["prediction"]["probabilities"][target] - pipeline.predict_proba(without)[:, target]
    np.testing.assert_allclose(occlusion["removed"], expected, atol=1e-4)
    assert occlusion["unk"][tokens.index("zqxjkian")] != 0.0  # an unseen word still says something: its n-grams
    if data["attributions"]["integrated_gradients"] is not None:
        assert data["attributions"]["integrated_gradients"]["delta"] < 2e-3


def test_subwords_are_refused_where_nothing_reads_them(tmp_path):
    for options, message in [
        ({"task": "lm"}, "a character language model has none"),
        ({"model": "bag"}, "--model bag"),
        ({"subwords": -1}, "--subwords must be in"),
    ]:
        data = DATA / ("shakespeare_sample.txt" if options.get("task") == "lm" else "trec_train.csv")
        with pytest.raises(RnnkitError, match=message):
            rnnkit.train(data, **{"subwords": 10, **options}, out=tmp_path / "x", quiet=True)
    result = subprocess.run(
        [sys.executable, "-m", "rnnkit", "train", str(DATA / "trec_train.csv"), "--model", "bag", "--subwords", "9"],
        capture_output=True, text=True,
    )  # fmt: skip
    one_line_error(result, "--model bag")


def test_the_subwords_of_a_config_come_back_from_its_settings():
    config = ClassifierConfig(vocab_size=9, num_classes=2, subwords=77, ngram_min=2, ngram_max=4)
    assert Subwords.of(config).to_dict() == {"buckets": 77, "min_n": 2, "max_n": 4}
    assert Subwords.of(ClassifierConfig(vocab_size=9, num_classes=2)) is None
    with pytest.raises(ValueError, match="bag of embeddings"):
        ClassifierConfig(vocab_size=9, num_classes=2, model="bag", subwords=5)


@pytest.mark.parametrize("char_hidden", [0, 4])
def test_a_tagger_reads_subwords_alone_or_beside_its_characters(char_hidden, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RnnkitWarning)
        tagger = rnnkit.train(
            DATA / "ewt_train_sample.conllu", subwords=300, char_hidden=char_hidden, hidden=8, embedding_dim=8,
            layers=1, epochs=1, out=tmp_path / "tagger", quiet=True,
        )  # fmt: skip
    assert tagger.model_config.subwords == 300 and "subwords.weight" in tagger.model.state_dict()
    sentences = [["I", "saw", "the", "zqxjkian", "moons"], ["Frannce", "wins"]]
    tagger.engine = "torch"
    expected = tagger.tag(sentences)
    assert rnnkit.load(tmp_path / "tagger").tag(sentences) == expected  # onnxruntime
    assert export_onnx(tmp_path / "tagger", tmp_path / "tagger.onnx") < 1e-4  # the graph against torch
    assert rnnkit.load(tmp_path / "tagger.onnx").tag(sentences) == expected
    data = tagger.encode([["zqxjkian"], ["qwxzzyv"]])
    assert data.ids.tolist() == [UNK_ID, UNK_ID] and not np.array_equal(data.ngrams[0], data.ngrams[1])


def test_a_word_language_model_reads_its_vocabularys_subwords_on_torch_onnxruntime_and_an_exported_file(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RnnkitWarning)
        lm = rnnkit.train(
            DATA / "shakespeare_sample.txt", task="lm", tokenizer="word", subwords=200, hidden=8, embedding_dim=8,
            layers=1, window=16, batch_size=4, epochs=1, out=tmp_path / "lm", quiet=True,
        )  # fmt: skip
    network = lm.model.eval()
    word = lm.vocab.tokens[9]  # a word of its vocabulary
    ids = torch.tensor([[lm.vocab.index[word], UNK_ID]])
    with torch.no_grad():
        vectors = network.embed(ids)[0]
        pieces = network.subwords.weight[torch.tensor(Subwords(200)(word))].mean(0)
    torch.testing.assert_close(vectors[0], network.embedding.weight[ids[0, 0]] + pieces)
    assert torch.equal(vectors[1], network.embedding.weight[UNK_ID])  # <unk> has no spelling
    lm.engine = "torch"
    text = lm.generate("The king", length=12, seed=3)
    assert rnnkit.load(tmp_path / "lm").generate("The king", length=12, seed=3) == text  # onnxruntime
    assert export_onnx(tmp_path / "lm", tmp_path / "lm.onnx") < 1e-4
    assert rnnkit.load(tmp_path / "lm.onnx").generate("The king", length=12, seed=3) == text
