"""Labels that are probably mistakes: a name among numbers, a class with too few rows."""

from rnnkit.data.labels import MIN_LABEL_ROWS, label_order, label_problems


def test_label_order_numbers_numerically_then_names():
    assert label_order(["10", "2", "b", "a", "2", "-1"]) == ["-1", "2", "10", "a", "b"]


def test_a_name_among_numbers_is_named_with_its_count_and_line():
    labels = ["0", "1"] * 10 + ["spam"]
    lines = list(range(2, 2 + len(labels)))
    (problem,) = label_problems(labels, "data.csv", lines)
    assert problem.startswith("data.csv: label 'spam' (1 row: line 22) is not a number like the other labels")


def test_a_rare_class_is_named_with_its_count_and_lines():
    labels = ["pos"] * 20 + ["neg"] * 20 + ["neutral"] * 2
    lines = list(range(2, 2 + len(labels)))
    (problem,) = label_problems(labels, "data.csv", lines)
    assert "label 'neutral' has only 2 rows: lines 42, 43, too few to learn a class from" in problem
    assert f"at least {MIN_LABEL_ROWS}" in problem


def test_healthy_labels_raise_nothing():
    assert label_problems(["a", "b"] * MIN_LABEL_ROWS, "x.csv") == []
    assert label_problems(["1", "2", "10"] * MIN_LABEL_ROWS, "x.csv") == []
    assert label_problems(["positive", "negative"] * 3 + ["neutral"] * MIN_LABEL_ROWS, "x.csv") != []


def test_a_stray_name_is_reported_once_not_also_as_rare():
    labels = ["0", "1"] * 10 + ["spam", "spam"]
    problems = label_problems(labels, "d.csv")
    assert len(problems) == 1 and "'spam' (2 rows) is not a number" in problems[0]
