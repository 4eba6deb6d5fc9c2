"""BLEU and chrF: our figures are sacreBLEU's own (its command line on the same files), and several references per
source count as BLEU defines them (checked against the formula written out here)."""

import math
import subprocess
import sys
from collections import Counter

import pytest

from rnnkit.tasks.translate.scoring import reference_streams, translation_scores

HYPOTHESES = ["the cat sat on the mat .", "he reads a book every day .", "it is raining today .", "I like tea ."]
REFERENCES = [
    ["the cat sat on a mat .", "a cat was sitting on the mat ."],
    ["he reads a book each day .", "every day he reads a book ."],
    ["it rains today .", "today it is raining ."],
    ["I like tea .", "I love tea ."],
]


def sacrebleu_command_line(tmp_path, metric):
    (tmp_path / "hyp.txt").write_text("\n".join(HYPOTHESES) + "\n")
    refs = []
    for j in range(2):
        path = tmp_path / f"ref{j}.txt"
        path.write_text("\n".join(r[j] for r in REFERENCES) + "\n")
        refs.append(str(path))
    command = [sys.executable, "-m", "sacrebleu", *refs, "-i", str(tmp_path / "hyp.txt"), "-m", metric, "-b", "-w", "6"]
    return float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def test_equal_to_sacrebleus_command_line(tmp_path):
    ours = translation_scores(HYPOTHESES, REFERENCES)
    assert ours["bleu"] == pytest.approx(sacrebleu_command_line(tmp_path, "bleu"), abs=1e-6)
    assert ours["chrf"] == pytest.approx(sacrebleu_command_line(tmp_path, "chrf"), abs=1e-6)
    assert ours["bleu_signature"].startswith("nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert ours["chrf_signature"].startswith("nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:")


def bleu_by_the_formula(hypotheses, references):
    """Papineni et al. (2002): clipped n-gram precisions (counts clipped by the most any reference has), their
    geometric mean, the brevity penalty against the reference length closest to each hypothesis (shorter on ties).
    Tokens are the space-separated words (the test sentences are already tokenized as 13a would)."""
    matches, totals = [0] * 4, [0] * 4
    hyp_length = ref_length = 0
    for hypothesis, refs in zip(hypotheses, references, strict=True):
        words, ref_words = hypothesis.split(), [r.split() for r in refs]
        hyp_length += len(words)
        ref_length += min((abs(len(r) - len(words)), len(r)) for r in ref_words)[1]
        for n in range(1, 5):
            counts = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
            most = Counter()
            for r in ref_words:
                for gram, count in Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1)).items():
                    most[gram] = max(most[gram], count)
            matches[n - 1] += sum(min(count, most[gram]) for gram, count in counts.items())
            totals[n - 1] += max(0, len(words) - n + 1)
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals, strict=True)) / 4
    brevity = min(0.0, 1 - ref_length / hyp_length)
    return 100 * math.exp(log_precision + brevity)


def test_a_varying_number_of_references_is_blues_own_definition():
    references = [REFERENCES[0], REFERENCES[1][:1], REFERENCES[2] + ["it is raining now ."], REFERENCES[3][1:]]
    ours = translation_scores(HYPOTHESES, references)
    assert ours["bleu"] == pytest.approx(bleu_by_the_formula(HYPOTHESES, references), abs=1e-9)
    assert ours["references"] == 7 and ours["sentences"] == 4
    assert reference_streams(references)[2] == [None, None, "it is raining now .", None]


def test_perfect_and_bad_inputs():
    assert translation_scores(["a b c d e"], [["x", "a b c d e"]])["bleu"] == pytest.approx(100)
    with pytest.raises(ValueError, match="2 translations but 1"):
        translation_scores(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="at least one reference"):
        translation_scores(["a"], [[]])
