"""A translator's figures as ``rnnkit train`` and ``rnnkit evaluate`` print them: BLEU and chrF with sacreBLEU's
signatures, so that a figure says how it was computed."""

from __future__ import annotations

from typing import Any


def format_report(report: dict[str, Any]) -> str:
    """BLEU and chrF on one line, what they were computed on below, and the signatures."""
    lines = [f"BLEU {report['bleu']:.2f}   chrF {report['chrf']:.2f}"]
    if "sentences" in report:
        searched = f", beam {report['beam']}" if "beam" in report else ""
        lines.append(
            f"({report['sentences']:,} sources translated{searched}, against {report['references']:,} references)"
        )
    if "bleu_signature" in report:
        lines.append(f"sacreBLEU {report['bleu_signature']}  |  {report['chrf_signature']}")
    return "\n".join(lines)


def training_summary(model: Any) -> list[str]:
    """The lines ``rnnkit train`` prints after a translator's training."""
    lines = []
    valid = model.training.get("valid")
    if valid is not None:
        lines.append(
            f"validation (greedy): BLEU {valid['bleu']:.2f}   chrF {valid['chrf']:.2f}   loss {valid['loss']:.4f}"
        )
    if model.report is not None:
        lines.append(f"\ntest set {model.report['source']}:\n{format_report(model.report)}")
    return [*lines, f'\nnext: rnnkit translate {model.run_dir} "A sentence to translate."']
