"""A sequence tagger's figures: conlleval's chunks, entity and token figures counted by hand, and seqeval's figures
where seqeval happens to be installed."""

import importlib.util
import json
import random

import pytest

from rnnkit.metrics import is_chunk_tagging, tag_chunks, tagging_report
from rnnkit.tasks.tag.report import format_tagging_report


@pytest.mark.parametrize(
    ("tags", "chunks"),
    [
        pytest.param(["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)], id="bio"),
        pytest.param(["O", "I-PER", "I-PER", "O"], [("PER", 1, 3)], id="i-after-o-starts-a-chunk"),
        pytest.param(["I-LOC", "O"], [("LOC", 0, 1)], id="i-at-sentence-start"),
        pytest.param(["B-PER", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 2)], id="b-then-i-of-another-type"),
        pytest.param(["I-PER", "I-LOC", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 3)], id="iob1-type-change"),
        pytest.param(
            ["S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "O"],
            [("PER", 0, 1), ("LOC", 1, 4), ("LOC", 4, 5)],
            id="bioes",
        ),
        pytest.param(["B-ORG", "E-ORG", "I-ORG", "E-ORG"], [("ORG", 0, 2), ("ORG", 2, 4)], id="i-after-e-starts"),
        pytest.param(["B-PER", "B-PER"], [("PER", 0, 1), ("PER", 1, 2)], id="adjacent-b-b"),
        pytest.param(["O", "B-ORG", "I-ORG"], [("ORG", 1, 3)], id="chunk-at-end"),
        pytest.param(["B-MISC-X", "I-MISC-X"], [("MISC-X", 0, 2)], id="hyphen-in-type"),
        pytest.param(["O", "O"], [], id="no-chunk"),
        pytest.param([], [], id="empty"),
    ],
)
def test_tag_chunks_by_hand(tags, chunks):
    assert tag_chunks(tags) == chunks


@pytest.mark.parametrize("tag", ["PER", "U-PER", "B-", "o"])
def test_tag_chunks_refuses_a_tag_without_a_prefix(tag):
    with pytest.raises(ValueError, match="position 1"):
        tag_chunks(["O", tag])


def test_is_chunk_tagging():
    assert is_chunk_tagging(["O", "B-PER", "I-PER"])
    assert is_chunk_tagging(iter(["S-LOC", "E-LOC"]))
    assert not is_chunk_tagging(["DET", "NOUN", "VERB"])  # part-of-speech tags
    assert not is_chunk_tagging(["O", "B-PER", "PER"])  # one bare tag: not BIO
    assert not is_chunk_tagging(["O"])  # no entity at all
    assert not is_chunk_tagging([])
    assert not is_chunk_tagging(["U-PER", "L-PER"])  # BILOU is not read


# Four sentences, counted by hand below.
TOKENS = [
    ["John", "Smith", "lives", "in", "New", "York"],
    ["Acme", "hired", "Mary"],
    ["in", "Paris", "today"],
    ["It", "rained"],
]
GOLD = [
    ["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC"],
    ["B-ORG", "O", "B-PER"],
    ["O", "B-LOC", "O"],
    ["O", "O"],
]
PREDICTED = [
    ["B-PER", "I-PER", "O", "O", "B-LOC", "O"],  # New York -> New: a boundary error
    ["B-LOC", "O", "B-PER"],  # Acme ORG -> LOC: a type error
    ["B-MISC", "B-LOC", "O"],  # a spurious MISC
    ["O", "O"],
]
# "It" is seen only lowercased, so it is unseen: words are compared exactly as given.
SEEN = {"John", "lives", "in", "New", "York", "hired", "Mary", "today", "it", "rained"}


def test_entity_figures_by_hand():
    # gold chunks (5):      PER John Smith, LOC New York, ORG Acme, PER Mary, LOC Paris
    # predicted chunks (6): PER John Smith, LOC New, LOC Acme, PER Mary, MISC in, LOC Paris
    # correct (3):          PER John Smith, PER Mary, LOC Paris
    # wrong: LOC New (boundary), LOC Acme (type), MISC in (spurious); missed: LOC New York, ORG Acme
    entities = tagging_report(GOLD, PREDICTED, TOKENS)["entities"]
    assert (entities["gold"], entities["predicted"], entities["correct"]) == (5, 6, 3)
    assert entities["precision"] == pytest.approx(3 / 6)
    assert entities["recall"] == pytest.approx(3 / 5)
    assert entities["f1"] == pytest.approx(2 * 0.5 * 0.6 / 1.1)
    per_type = entities["per_type"]
    assert list(per_type) == ["LOC", "MISC", "ORG", "PER"]  # gold or predicted types, sorted
    # LOC: gold 2 (New York, Paris), predicted 3 (New, Acme, Paris), correct 1 (Paris)
    assert per_type["LOC"] == {"precision": pytest.approx(1 / 3), "recall": 0.5, "f1": pytest.approx(0.4), "support": 2}
    assert per_type["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert per_type["ORG"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}  # never predicted
    assert per_type["MISC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}  # never in gold


def test_token_figures_by_hand():
    # 14 tokens, 3 wrong: York (I-LOC -> O), Acme (B-ORG -> B-LOC), in (O -> B-MISC); only sentence 3 all right.
    # unseen: Smith (right), Acme (wrong), Paris (right), It (right): 3 of 4.
    report = tagging_report(GOLD, PREDICTED, TOKENS, seen_words=SEEN)
    assert (report["sentences"], report["tokens"]) == (4, 14)
    assert report["accuracy"] == pytest.approx(11 / 14)
    assert report["sentence_accuracy"] == 0.25
    assert (report["unseen_tokens"], report["unseen_accuracy"]) == (4, 0.75)
    per_tag = report["per_tag"]
    assert list(per_tag) == ["B-LOC", "B-MISC", "B-ORG", "B-PER", "I-LOC", "I-PER", "O"]
    # O: 7 in gold, 7 predicted, 6 right (the "in" tagged B-MISC is missed, York tagged O is wrong)
    six_of_seven = pytest.approx(6 / 7)
    assert per_tag["O"] == {"precision": six_of_seven, "recall": six_of_seven, "f1": six_of_seven, "support": 7}
    # B-LOC: 2 in gold (New, Paris), 3 predicted (New, Acme, Paris), 2 right
    b_loc = {"precision": pytest.approx(2 / 3), "recall": 1.0, "f1": pytest.approx(0.8), "support": 2}
    assert per_tag["B-LOC"] == b_loc
    assert per_tag["I-LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert per_tag["B-MISC"]["support"] == 0 and per_tag["B-PER"]["f1"] == 1.0
    # macro-F1 over the six tags in gold: B-LOC 0.8, B-ORG 0, B-PER 1, I-LOC 0, I-PER 1, O 6/7
    assert report["macro_f1"] == pytest.approx((0.8 + 0 + 1 + 0 + 1 + 6 / 7) / 6)
    json.dumps(report)  # plain JSON-ready values


def test_unseen_figures_without_a_word_list_or_unseen_words():
    report = tagging_report(GOLD, PREDICTED, TOKENS)
    assert (report["unseen_tokens"], report["unseen_accuracy"]) == (None, None)
    every_word = {word for sentence in TOKENS for word in sentence}
    report = tagging_report(GOLD, PREDICTED, TOKENS, seen_words=every_word)
    assert (report["unseen_tokens"], report["unseen_accuracy"]) == (0, None)


def test_no_entity_figures_for_tags_that_are_not_chunks():
    gold, predicted, tokens = [["DET", "NOUN"], ["VERB"]], [["DET", "VERB"], ["VERB"]], [["the", "dog"], ["run"]]
    report = tagging_report(gold, predicted, tokens)
    assert "entities" not in report
    assert report["accuracy"] == pytest.approx(2 / 3) and report["sentence_accuracy"] == 0.5
    assert "entities" not in format_tagging_report(report)


def test_the_confusion_matrix_counts_tokens_by_gold_and_predicted_tag():
    gold, predicted = [["DET", "NOUN", "NOUN"], ["VERB"]], [["DET", "VERB", "NOUN"], ["NOUN"]]
    report = tagging_report(gold, predicted, [["a", "b", "c"], ["d"]])
    assert report["tags"] == ["DET", "NOUN", "VERB"] == list(report["per_tag"])
    # rows: gold DET, NOUN, VERB; columns: predicted
    assert report["confusion_matrix"] == [[1, 0, 0], [0, 1, 1], [0, 1, 0]]
    json.dumps(report)


def test_format_tagging_report():
    text = format_tagging_report(tagging_report(GOLD, PREDICTED, TOKENS, seen_words=SEEN))
    assert "accuracy  0.7857" in text and "(11 of 14 tokens right)" in text
    assert "unseen words  accuracy 0.7500   (3 of 4 tokens right" in text
    assert "(1 of 4 sentences all right)" in text
    assert "entities  precision 0.5000   recall 0.6000   F1 0.5455   (3 correct of 6 predicted, 5 in gold)" in text
    lines = text.splitlines()
    assert any(line.startswith("entity type") for line in lines) and any(line.startswith("LOC ") for line in lines)
    assert any(line.startswith("B-MISC ") and line.endswith(" 0") for line in lines)
    assert "no list of the words" in format_tagging_report(tagging_report(GOLD, PREDICTED, TOKENS))


@pytest.mark.parametrize(
    ("gold", "predicted", "tokens", "where"),
    [
        ([["O"], ["O", "O"]], [["O"], ["O"]], [["a"], ["b", "c"]], "sentence 1"),  # a predicted sentence too short
        ([["O"], ["O"]], [["O"], ["O"]], [["a"], ["b", "c"]], "sentence 1"),  # tokens do not match the tags
        ([["O"], ["O"]], [["O"]], [["a"], ["b"]], "sentence 1"),  # a sentence missing from predicted
    ],
)
def test_length_mismatch_raises(gold, predicted, tokens, where):
    with pytest.raises(ValueError, match=where):
        tagging_report(gold, predicted, tokens)


def _random_tags(rng: random.Random, tags: list[str]) -> list[list[str]]:
    return [[rng.choice(tags) for _ in range(rng.randint(0, 15))] for _ in range(rng.randint(1, 30))]


@pytest.mark.skipif(importlib.util.find_spec("seqeval") is None, reason="seqeval is not installed")
@pytest.mark.parametrize("scheme", ["BIO", "BIOES"])
def test_entity_figures_agree_with_seqeval(scheme):
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.metrics.sequence_labeling import get_entities

    rng = random.Random(20)
    prefixes = "BI" if scheme == "BIO" else "BIES"
    tags = ["O", "O", "O"] + [f"{prefix}-{kind}" for prefix in prefixes for kind in ("PER", "LOC")]
    for _ in range(50):  # random sequences, invalid ones (I- after O, a type change inside a chunk) included
        gold = _random_tags(rng, tags)
        predicted = [[rng.choice(tags) for _ in sentence] for sentence in gold]
        tokens = [["w"] * len(sentence) for sentence in gold]
        entities = tagging_report(gold, predicted, tokens).get("entities")
        if entities is None or not entities["gold"] or not entities["predicted"]:
            continue  # seqeval warns and divides by zero differently; nothing to compare
        for sentence in gold + predicted:
            assert tag_chunks(sentence) == [(kind, start, end + 1) for kind, start, end in get_entities(sentence)]
        assert entities["precision"] == pytest.approx(precision_score(gold, predicted))
        assert entities["recall"] == pytest.approx(recall_score(gold, predicted))
        assert entities["f1"] == pytest.approx(f1_score(gold, predicted))
