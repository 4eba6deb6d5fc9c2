import pytest

from rnnkit.metrics import classification_report
from rnnkit.tasks.classify.report import format_report


def test_report_by_hand():
    # true:      a a a b b c
    # predicted: a a b b c c
    report = classification_report([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], ["a", "b", "c"])
    assert report["accuracy"] == pytest.approx(4 / 6)
    a, b, c = (report["per_class"][k] for k in "abc")
    assert (a["precision"], a["recall"], a["support"]) == (1.0, pytest.approx(2 / 3), 3)
    assert (b["precision"], b["recall"]) == (0.5, 0.5)
    assert (c["precision"], c["recall"]) == (0.5, 1.0)
    f1 = [0.8, 0.5, 2 / 3]
    assert report["macro_f1"] == pytest.approx(sum(f1) / 3)
    assert report["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    text = format_report(report)
    assert "accuracy  0.6667" in text and "confusion matrix" in text


def test_class_never_predicted_and_absent():
    report = classification_report([0, 0], [0, 0], ["x", "y"])
    assert report["per_class"]["y"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert report["macro_f1"] == 1.0  # over the classes present in the set
