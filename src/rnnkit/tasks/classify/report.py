"""A classifier's figures as ``rnnkit train`` and ``rnnkit evaluate`` print them, and what training prints after
it: the validation figures beside those of always answering the commonest class, then the test report."""

from __future__ import annotations

from typing import Any

from rnnkit.metrics import figure_table


def format_report(report: dict[str, Any]) -> str:
    """The report as a plain-text table a person reads in a terminal."""
    labels = report["labels"]
    width = max(12, *(len(label) for label in labels))
    lines = [
        f"accuracy  {report['accuracy']:.4f}   macro-F1  {report['macro_f1']:.4f}   ({report['examples']} examples)",
        "",
        *figure_table("class", {label: report["per_class"][label] for label in labels}),
    ]
    lines += ["", "confusion matrix (rows: true class, columns: predicted)"]
    cell = max(5, *(len(str(v)) for row in report["confusion_matrix"] for v in row))
    short = [label[:cell] for label in labels]
    lines.append(" " * width + "  " + " ".join(f"{s:>{cell}}" for s in short))
    for label, row in zip(labels, report["confusion_matrix"], strict=True):
        lines.append(f"{label:<{width}}  " + " ".join(f"{v:>{cell}}" for v in row))
    return "\n".join(lines)


def training_summary(model: Any) -> list[str]:
    """The lines ``rnnkit train`` prints after a classifier's training."""
    lines = []
    training = model.training
    for key, where in (("valid", "validation"), ("train", "training texts (no validation cut)")):
        scored, always = training.get(key), training.get(f"{key}_baseline")
        if scored is not None and always is not None:
            lines.append(
                f"{where}: accuracy {scored['accuracy']:.4f}, macro-F1 {scored['macro_f1']:.4f} (always "
                f"{always['label']!r}: accuracy {always['accuracy']:.4f}, macro-F1 {always['macro_f1']:.4f})"
            )
    if model.report is not None:
        lines += [f"\ntest set {model.report['source']}:", format_report(model.report)]
    return [*lines, f'\nnext: rnnkit predict {model.run_dir} "some text"']
