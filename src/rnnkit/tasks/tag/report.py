"""A tagger's figures as ``rnnkit train`` and ``rnnkit evaluate`` print them."""

from __future__ import annotations

from typing import Any

from rnnkit.metrics import figure_table


def format_tagging_report(report: dict[str, Any]) -> str:
    """A ``tagging_report`` as plain text a person reads in a terminal: accuracies with the counts behind them, the
    entity figures when there are any, then the per-type and per-tag tables."""
    tokens, sentences = report["tokens"], report["sentences"]
    lines = [
        f"accuracy  {report['accuracy']:.4f}   macro-F1  {report['macro_f1']:.4f}   "
        f"({round(report['accuracy'] * tokens)} of {tokens} tokens right)"
    ]
    unseen = report["unseen_tokens"]
    if unseen is None:
        lines.append("unseen words  (no list of the words seen in training)")
    elif report["unseen_accuracy"] is None:
        lines.append("unseen words  none in this set")
    else:
        right = round(report["unseen_accuracy"] * unseen)
        share = unseen / max(1, tokens)
        lines.append(
            f"unseen words  accuracy {report['unseen_accuracy']:.4f}   ({right} of {unseen} tokens right; "
            f"{share:.1%} of tokens unseen)"
        )
    lines.append(
        f"sentences  accuracy {report['sentence_accuracy']:.4f}   "
        f"({round(report['sentence_accuracy'] * sentences)} of {sentences} sentences all right)"
    )
    entities = report.get("entities")
    if entities is not None:
        lines += [
            "",
            f"entities  precision {entities['precision']:.4f}   recall {entities['recall']:.4f}   "
            f"F1 {entities['f1']:.4f}   ({entities['correct']} correct of {entities['predicted']} predicted, "
            f"{entities['gold']} in gold)",
            "",
            *figure_table("entity type", entities["per_type"]),
        ]
    lines += ["", *figure_table("tag", report["per_tag"])]
    return "\n".join(lines)


def training_summary(model: Any) -> list[str]:
    """The lines ``rnnkit train`` prints after a tagger's training."""
    lines = []
    if model.training["valid"] is not None:
        lines.append(f"validation: token accuracy {model.training['valid']['accuracy']:.4f}")
    if model.report is not None:
        lines += [f"\ntest set {model.report['source']}:", format_tagging_report(model.report)]
    return [*lines, f'\nnext: rnnkit predict {model.run_dir} "A sentence to tag."']
