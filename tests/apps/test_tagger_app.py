"""A sequence tagger through rnnkit's verbs: trained, saved, reloaded (torch, onnxruntime, an exported file) and
tagging identically; the command line end to end on CoNLL-U and token-per-line files; bad input refused in one line.

Every network here is tiny (hidden 16, one layer, two epochs on the 120-sentence sample): the tests are about the
plumbing, so they compare a model with itself, never with a target accuracy.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from checks import one_line_error

import rnnkit
import rnnkit.tasks.tag.tagger as tagger_module
from rnnkit.data.tagged import CONLLU_COLUMNS, read_tagged
from rnnkit.loading import load_onnx
from rnnkit.tasks.tag.pipeline import TaggerPipeline
from rnnkit.tasks.tag.tagger import MAX_PIECE, OnnxTagger, decode, tag_encoded
from rnnkit.text.sentences import EncodedSentences, sentence_batch

pytestmark = pytest.mark.usefixtures("one_thread")

DATA = Path(__file__).parents[1] / "data"
TRAIN = DATA / "ewt_train_sample.conllu"
DEV = DATA / "ewt_dev_sample.conllu"
DEV_TSV = DATA / "ewt_dev_sample.tsv"
NER = DATA / "conll2003_style.txt"
TINY = dict(hidden=16, embedding_dim=16, char_hidden=8, layers=1, epochs=2, lr=0.02, batch_size=16, quiet=True)
TINY_ARGS = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items() if k != "quiet"] + ["-q"]
UPOS = CONLLU_COLUMNS.index("upos")


def cli(*args):
    """``rnnkit ARGS`` through its real entry point; one thread, as tiny networks want it."""
    env = dict(os.environ, PYTHONWARNINGS="error::UserWarning", OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "rnnkit.cli", *map(str, args)], capture_output=True, text=True, env=env, timeout=300
    )


def ok(result):
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tagger with a character encoder and no CRF, trained through ``rnnkit.train``."""
    out = tmp_path_factory.mktemp("tagger") / "run"
    return rnnkit.train(TRAIN, out=str(out), **TINY), out


@pytest.fixture(scope="module")
def crf_trained(tmp_path_factory):
    """The other side of every switch: a GRU tagger with a CRF and no character encoder."""
    out = tmp_path_factory.mktemp("crf") / "run"
    return rnnkit.train(TRAIN, out=str(out), **{**TINY, "crf": True, "char_hidden": 0, "cell": "gru"}), out


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory):
    """A tagger trained through ``rnnkit train``: a ``.conllu`` file says the task without ``--task``."""
    out = tmp_path_factory.mktemp("cli") / "model"
    result = ok(cli("train", TRAIN, "--out", out, *TINY_ARGS))
    assert f"model saved to {out}" in result.stdout and "token accuracy" in result.stdout
    return out


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    """The dev sample without its two sentences that hold ``X``, a tag the 120 training sentences never show (the
    whole sample is refused for that: see ``test_bad_input_is_one_line_and_leaves_no_model``)."""
    blocks = DEV.read_text(encoding="utf-8").strip("\n").split("\n\n")
    kept = [b for b in blocks if not any(line.split("\t")[UPOS] == "X" for line in b.splitlines() if "\t" in line)]
    assert len(kept) == len(blocks) - 2
    path = tmp_path_factory.mktemp("dev") / "dev_seen.conllu"
    path.write_text("\n\n".join(kept) + "\n\n", encoding="utf-8")
    return path


def test_a_tagger_learns_and_is_saved_as_one(trained):
    tagger, out = trained
    assert isinstance(tagger, TaggerPipeline) and tagger.run_dir == out
    config = json.loads((out / "config.json").read_text())
    assert config["task"] == "tag" and config["model"]["alphabet_size"] > 0 and not config["model"]["crf"]
    assert config["labels"] == tagger.tags and "PUNCT" in tagger.tags and "X" not in tagger.tags
    assert not (out / "checkpoint.pt").exists()
    history = tagger.training["members"][0]["history"]
    assert len(history) == 2 and history[-1]["valid_accuracy"] > 0.2  # better than chance over 14 tags


def test_a_reloaded_tagger_tags_as_the_trained_one_on_every_engine(trained):
    """The directory read back on torch, on onnxruntime, and by ``load_onnx`` (no torch): the same tags for every
    token of the dev sample as the network that was trained."""
    tagger, out = trained
    sentences = read_tagged(DEV).tokens
    expected = tagger.tag(sentences)
    assert [len(tags) for tags in expected] == [len(s) for s in sentences]
    for engine in ("torch", "onnxruntime"):
        loaded = rnnkit.load(out, engine=engine)
        assert isinstance(loaded, TaggerPipeline) and loaded.engine == engine
        assert loaded.tag(sentences) == expected, engine
    onnx_tagger = load_onnx(out)
    assert isinstance(onnx_tagger, OnnxTagger) and onnx_tagger.transitions() is None
    assert onnx_tagger.tag(sentences) == expected
    assert onnx_tagger.predict("I don't like it.") == tagger.predict("I don't like it.")


def test_a_sentence_longer_than_any_in_training_is_tagged_whole(trained):
    """300 tokens (the longest training sentence has 76) get 300 tags, the same on both engines."""
    tagger, out = trained
    words = [token for sentence in read_tagged(TRAIN).tokens for token in sentence]
    assert max(len(s) for s in read_tagged(TRAIN).tokens) < 300
    long = words[:290] + ["Unheard-of", "zyxwvut", "42,000"] + words[:7]
    tags = rnnkit.load(out, engine="torch").tag([long, ["Hello"]])
    assert [len(t) for t in tags] == [300, 1]
    assert rnnkit.load(out, engine="onnxruntime").tag([long, ["Hello"]]) == tags == tagger.tag([long, ["Hello"]])
    assert load_onnx(out).tag([["Hello"], long]) == tags[::-1]


def test_a_sentence_of_max_piece_tokens_is_tagged_whole_and_a_longer_one_in_pieces(trained):
    """Up to ``MAX_PIECE`` tokens, one pass of the network over the whole sentence, exactly as before pieces
    existed; one token more, and no pass reads more than ``MAX_PIECE``."""
    _, out = trained
    words = [token for sentence in read_tagged(TRAIN).tokens for token in sentence]
    for tagger in (rnnkit.load(out, engine="torch"), load_onnx(out)):
        widths, network = [], tagger.scores

        def scores(batch, network=network, widths=widths):
            widths.append(batch.ids.shape[1])
            return network(batch)

        tagger.scores = scores  # every pass the tagger makes goes through here
        sentence = (words * 20)[:MAX_PIECE]
        whole = tagger.encode([sentence])
        reference = decode(network(sentence_batch(whole, np.array([0]))), whole.lengths, None)
        assert tagger.tag([sentence]) == [[tagger.tags[i] for i in reference[0]]]
        assert widths == [MAX_PIECE]
        widths.clear()
        assert [len(t) for t in tagger.tag([[*sentence, "more"]])] == [MAX_PIECE + 1]
        assert len(widths) == 1 and max(widths) <= MAX_PIECE  # two pieces of MAX_PIECE, in one batch


@pytest.mark.parametrize("crf", [False, True])
def test_pieces_keep_every_token_with_context_on_both_sides(monkeypatch, crf):
    """Each kept tag comes from a piece that reads ``CONTEXT`` tokens on either side of it, or the sentence's edge.
    A fake network tags each position with its distance from the nearer end of the piece it is read in (at most
    ``CONTEXT``), so a token's tag is ``min(its distance from the sentence's ends, CONTEXT)`` exactly when it was
    kept from a piece that gave it all the context there is; with a CRF whose transitions cost nothing, the
    Viterbi path is the same."""
    monkeypatch.setattr(tagger_module, "MAX_PIECE", 10)
    monkeypatch.setattr(tagger_module, "CONTEXT", 3)
    lengths = list(range(1, 41)) + [100, 9, 10, 11, 57]
    data = EncodedSentences(
        ids=np.arange(sum(lengths), dtype=np.int64),
        forms=np.zeros(sum(lengths), dtype=np.int64),
        offsets=np.cumsum([0, *lengths[:-1]]),
        lengths=np.array(lengths),
        spellings=[],
    )

    def scores(batch):
        positions = np.arange(batch.ids.shape[1])
        distance = np.minimum(positions[None, :], batch.lengths[:, None] - 1 - positions[None, :])
        return np.eye(4)[np.clip(distance, 0, 3)]  # (B, T, 4): one-hot of the distance

    zeros = np.zeros((4, 4)), np.zeros(4), np.zeros(4)
    for batch_size in (1, 3, 64):
        tags = tag_encoded(data, scores, zeros if crf else None, batch_size)
        for n, got in zip(lengths, tags, strict=True):
            expected = np.minimum(np.minimum(np.arange(n), n - 1 - np.arange(n)), 3)
            assert got.tolist() == expected.tolist(), n


@pytest.mark.parametrize("model", ["trained", "crf_trained"])
def test_a_long_line_in_pieces_gets_the_tags_of_the_whole(model, request):
    """8,000 tokens read in overlapping pieces and read whole, in one pass of the network (and one Viterbi path
    with a CRF): the same tags. The pieces' centres read ``CONTEXT`` tokens on each side, more than a tagger
    carries. The whole path is found in float64: in float32 a path's score over thousands of tokens grows past
    the precision that tells two near-equal paths apart, and one tag of the 8,000 flipped."""
    _, out = request.getfixturevalue(model)
    tagger = load_onnx(out)
    words = [token for sentence in read_tagged(DEV).tokens for token in sentence]
    line = (words * 8)[:8_000]
    whole = tagger.encode([line])
    scores = tagger.scores(sentence_batch(whole, np.array([0]))).astype(np.float64)
    crf = tagger.transitions()
    reference = decode(scores, whole.lengths, None if crf is None else tuple(np.float64(a) for a in crf))
    assert tagger.tag([line]) == [[tagger.tags[i] for i in reference[0]]]


def test_a_multi_megabyte_line_is_tagged_in_bounded_memory(cli_model, tmp_path):
    """3 MB on one line (about 590,000 tokens): read whole, the network's working memory grew with the line (the
    tiny tagger here peaked at about 850 MB, the default one at 12.6 GB on 5 MB); in pieces it peaks near 260 MB,
    of which the tokens and tags of the line themselves are most. The bound is the process's peak (``ru_maxrss``
    of the command, run from a wrapper of its own: Linux reports kilobytes)."""
    lines = DEV.read_text(encoding="utf-8").splitlines()
    sentences = [line[len("# text = ") :] for line in lines if line.startswith("# text = ")]
    one = " ".join(sentences)
    big = tmp_path / "big.txt"
    big.write_text((one + " ") * (3_000_000 // len(one)) + "\n", encoding="utf-8")
    output = tmp_path / "tagged.txt"
    wrapper = (
        "import resource, subprocess, sys\n"
        "with open(sys.argv[1], 'w') as out:\n"
        "    code = subprocess.run(sys.argv[2:], stdout=out).returncode\n"
        "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, "-c", wrapper, output, sys.executable, "-m", "rnnkit.cli", "predict", cli_model]
    command += ["--file", big]
    result = subprocess.run(list(map(str, command)), capture_output=True, text=True, env=env, timeout=300)
    code, peak_kb = map(int, result.stdout.split())
    assert code == 0, result.stderr
    pairs = output.read_text(encoding="utf-8").split()
    assert len(pairs) > 500_000 and output.read_text(encoding="utf-8").count("\n") == 1
    first = load_onnx(cli_model).tokenize(sentences[0])
    assert [pair.rsplit("/", 1)[0] for pair in pairs[: len(first)]] == first
    assert peak_kb < 450_000, f"peak {peak_kb / 1000:.0f} MB"


def test_a_crf_tagger_decodes_sequences_alike_on_both_engines(crf_trained):
    tagger, out = crf_trained
    assert tagger.model_config.crf and tagger.transitions() is not None and tagger.characters is None
    sentences = read_tagged(DEV).tokens
    torch_tagger, onnx_tagger = rnnkit.load(out, engine="torch"), load_onnx(out)
    expected = torch_tagger.tag(sentences)
    assert rnnkit.load(out, engine="onnxruntime").tag(sentences) == expected == onnx_tagger.tag(sentences)
    for transitions in (torch_tagger.transitions(), onnx_tagger.transitions()):
        assert transitions is not None and transitions[0].shape == (len(tagger.tags), len(tagger.tags))
    # Viterbi over the transitions, not each token's best tag: on the dev sample the two differ somewhere.
    greedy = tag_encoded(torch_tagger.encode(sentences), torch_tagger.scores, None)
    assert [[tagger.tags[i] for i in g] for g in greedy] != expected


def test_the_command_line_trains_evaluates_and_predicts(cli_model, dev, tmp_path):
    config = json.loads((cli_model / "config.json").read_text())
    assert config["task"] == "tag" and config["model"]["hidden_size"] == 16
    report = tmp_path / "r.json"
    result = ok(cli("evaluate", cli_model, dev, "--report", report))
    assert "accuracy" in result.stdout and "unseen words" in result.stdout
    figures = json.loads(report.read_text())
    assert {"accuracy", "unseen_accuracy", "tokens", "per_tag"} <= set(figures) and "entities" not in figures
    assert figures["tokens"] == sum(len(s) for s in read_tagged(dev).tokens)
    assert figures["accuracy"] == pytest.approx(rnnkit.load(cli_model).evaluate(dev)["accuracy"])

    text = ok(cli("predict", cli_model, "I don't like it.")).stdout.split()
    assert [pair.rsplit("/", 1)[0] for pair in text] == ["I", "do", "n't", "like", "it", "."]  # split as UD splits
    tags = [pair.rsplit("/", 1)[1] for pair in text]
    assert set(tags) <= set(config["labels"])
    assert rnnkit.load(cli_model, engine="torch").predict("I don't like it.") == [
        list(zip(["I", "do", "n't", "like", "it", "."], tags, strict=True))
    ]
    records = ok(cli("predict", cli_model, "--format", "json", "I don't like it.", "Hi there")).stdout.splitlines()
    assert [json.loads(r) for r in records] == [
        {"tokens": ["I", "do", "n't", "like", "it", "."], "tags": tags},
        {"tokens": ["Hi", "there"], "tags": json.loads(records[1])["tags"]},
    ]
    tsv = ok(cli("predict", cli_model, "--format", "tsv", "I don't like it.", "Hi there")).stdout
    blocks = tsv.strip("\n").split("\n\n")  # a blank line between sentences, as a token file has
    assert [line.split("\t") for line in blocks[0].splitlines()] == [
        [t.rsplit("/", 1)[0], g] for t, g in zip(text, tags, strict=True)
    ]
    assert len(blocks) == 2 and [line.split("\t")[0] for line in blocks[1].splitlines()] == ["Hi", "there"]
    split = ok(cli("predict", cli_model, "--pretokenized", "I do n't like it .", "cannot")).stdout.splitlines()
    assert split[0].split() == text  # split at spaces only: "cannot" stays one token
    assert [pair.rsplit("/", 1)[0] for pair in split[1].split()] == ["cannot"]
    one_line_error(cli("predict", cli_model, "--top-k", "2", "Hi"), "--top-k is for text classifiers")


def test_predict_runs_on_onnxruntime_without_torch(cli_model):
    run = "import sys; sys.argv = ['rnnkit', *sys.argv[1:]]; from rnnkit.cli import main; main(standalone_mode=False)"
    code = f"{run}; assert 'torch' not in sys.modules, 'torch was imported'"
    result = subprocess.run(
        [sys.executable, "-c", code, "predict", str(cli_model), "I don't like it."],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == cli("predict", cli_model, "I don't like it.").stdout


@pytest.mark.parametrize(("source", "name"), [(DEV, "out.conllu"), (DEV_TSV, "out.tsv")])
def test_a_tagged_copy_changes_the_tags_only_and_matches_python(cli_model, tmp_path, source, name):
    """``predict --file F --output O`` keeps every line of F (comments, multiword ranges, empty nodes, the nine
    other columns) and changes only the tag column, to exactly the tags the reloaded model gives in Python."""
    output = tmp_path / name
    result = ok(cli("predict", cli_model, "--file", source, "--output", output))
    assert f"tagged copy written to {output}" in result.stderr
    original, tagged = source.read_text(encoding="utf-8").splitlines(), output.read_text(encoding="utf-8").splitlines()
    assert len(tagged) == len(original)
    conllu = source.suffix == ".conllu"
    column = UPOS if conllu else 1
    changed = 0
    for before, after in zip(original, tagged, strict=True):
        a, b = before.split("\t"), after.split("\t")
        if not (a[0].isdecimal() if conllu else before):  # a comment, a range (3-4), an empty node (8.1), a blank
            assert after == before
            continue
        assert a[:column] + a[column + 1 :] == b[:column] + b[column + 1 :]
        changed += a[column] != b[column]
    assert changed > 0  # a tiny network gets many tags wrong: the column really was rewritten
    corpus = read_tagged(source)
    assert read_tagged(output).tags == rnnkit.load(cli_model).tag(corpus.tokens)
    assert read_tagged(output).tags == rnnkit.load(cli_model, engine="torch").tag(corpus.tokens)

    before = output.read_bytes()
    one_line_error(cli("predict", cli_model, "--file", source, "--output", output), "exists", "--overwrite")
    assert output.read_bytes() == before
    ok(cli("predict", cli_model, "--file", source, "--output", output, "--overwrite"))
    assert output.read_bytes() == before  # the same model tags the same file the same way


@pytest.mark.parametrize("model", ["cli_model", "crf_trained"])
def test_an_exported_tagger_predicts_and_evaluates_as_its_directory(model, dev, tmp_path, request):
    directory = request.getfixturevalue(model)
    directory = directory[1] if isinstance(directory, tuple) else directory
    exported = tmp_path / "model.onnx"
    result = ok(cli("export", directory, exported))
    assert "onnxruntime matches torch" in result.stdout
    sentence = "The quick brown fox didn't jump over 3 lazy dogs in Zzyzx."
    assert ok(cli("predict", exported, sentence)).stdout == ok(cli("predict", directory, sentence)).stdout
    accuracy = [ok(cli("evaluate", m, dev)).stdout.splitlines()[0] for m in (exported, directory)]
    assert accuracy[0] == accuracy[1] and accuracy[0].startswith("accuracy")
    loaded = rnnkit.load(exported)
    assert isinstance(loaded, OnnxTagger)
    reloaded = rnnkit.load(directory, engine="torch")
    assert (loaded.transitions() is not None) == reloaded.model_config.crf
    if reloaded.model_config.crf:
        for a, b in zip(loaded.transitions(), reloaded.transitions(), strict=True):
            assert (a == b).all()
    sentences = read_tagged(dev).tokens
    assert loaded.tag(sentences) == reloaded.tag(sentences)
    assert loaded.evaluate(dev)["accuracy"] == reloaded.evaluate(dev)["accuracy"]


def test_bad_input_is_one_line_and_leaves_no_model(cli_model, tmp_path):
    foo = tmp_path / "foo.conllu"
    foo.write_text("1\tIt\tit\tPRON\tPRP\t_\t2\tnsubj\t_\t_\n2\trains\train\tFOO\tVBZ\t_\t0\troot\t_\t_\n\n")
    # The line of the word whose tag is unknown, not of its sentence.
    one_line_error(cli("evaluate", cli_model, foo), "foo.conllu line 2", "'FOO' never occurs in the training data")
    one_line_error(cli("evaluate", cli_model, DEV), "line 207: tag 'X' never occurs")  # real data: see `dev`
    columns = tmp_path / "columns.tsv"
    columns.write_text("Hello\tINTJ\nthere\tADV\textra\n")
    one_line_error(cli("evaluate", cli_model, columns), "columns.tsv line 2", "3 columns where line 1 has 2")
    empty = tmp_path / "empty.conllu"
    empty.write_text("# sent_id = 1\n# text = nothing\n\n")
    one_line_error(cli("evaluate", cli_model, empty), "no sentences")
    one_line_error(cli("predict", cli_model, "--file", empty, "--output", tmp_path / "o.conllu"), "no sentences")
    assert not (tmp_path / "o.conllu").exists()
    one_line_error(
        cli("evaluate", DATA / "model-0.1", DATA / "trec_test.csv", "--tag-column", "upos"),
        "--tag-column is for sequence taggers",
    )
    for name, args in [
        ("not labelled texts", [DATA / "trec_train.csv", "--task", "tag"]),  # a labelled file is no tagged file
        ("foo.conllu", [TRAIN, "--test", foo]),  # refused before training, not after
    ]:
        out = tmp_path / f"run-{name}"
        one_line_error(cli("train", *args, "--out", out, *TINY_ARGS), name)
        assert not (out / "config.json").exists() and not (out / "model.safetensors").exists()


def test_a_token_per_line_file_of_entities(tmp_path):
    """CoNLL-2003's layout (``-DOCSTART-``, four columns separated by spaces, NER tags last): three sentences,
    none held out, and the evaluation reports entities, as BIO tags call for."""
    out = tmp_path / "ner"
    ok(cli("train", NER, "--task", "tag", "--valid-split", "0", "--out", out, *TINY_ARGS))
    config = json.loads((out / "config.json").read_text())
    assert config["task"] == "tag" and config["training"]["tag_column"] == "4"
    assert set(config["labels"]) == {"O", "B-PER", "I-PER", "B-LOC", "B-ORG", "I-ORG"}
    report = tmp_path / "ner.json"
    result = ok(cli("evaluate", out, NER, "--report", report))
    assert "entities" in json.loads(report.read_text()) and result.stdout
    tagged = tmp_path / "ner.txt"
    ok(cli("predict", out, "--file", NER, "--output", tagged))
    original = NER.read_text().splitlines()[2:]  # -DOCSTART- and its blank line are not written back
    for before, after in zip(original, tagged.read_text().splitlines(), strict=True):
        assert before.split(" ")[:3] == after.split(" ")[:3] and len(after.split(" ")) == len(before.split(" "))


def test_train_help_shows_the_taggers_defaults():
    shown = " ".join(ok(cli("train", "--task", "tag", "--help")).stdout.split())  # as one line: help text wraps
    for default in ("200 for --task tag", "64 for --task tag", "treebank for --task tag", "off for --task tag"):
        assert default in shown, default


def test_the_defaults_follow_the_training_data_size():
    """Below 100,000 training words more epochs and the words' n-grams (chosen on two small treebanks); from there
    up the defaults measured on UD English EWT (205k words), unchanged. Given values win."""
    from rnnkit.api import train_options
    from rnnkit.tasks.tag.sizes import SMALL_DATA_WORDS, sized_defaults
    from rnnkit.tasks.tag.train import read_data

    sample = DATA / "ewt_train_sample.conllu"
    options = train_options(sample, {"quiet": True})
    assert (options.epochs, options.subwords) == (None, None)  # left to the data
    read_data(sample, options)
    assert (options.epochs, options.subwords) == (50, 10_000)
    options = train_options(sample, {"quiet": True, "epochs": 3, "subwords": 0})
    read_data(sample, options)
    assert (options.epochs, options.subwords) == (3, 0)
    assert sized_defaults(SMALL_DATA_WORDS - 1) == {"epochs": 50, "subwords": 10_000}
    assert sized_defaults(SMALL_DATA_WORDS) == {"epochs": 15, "subwords": 0}  # EWT's: its 95.5 stands
