"""A language model's figures as ``rnnkit train`` and ``rnnkit evaluate`` print them."""

from __future__ import annotations

from typing import Any


def format_lm_report(report: dict[str, Any]) -> str:
    """A language model's figures on one line."""
    line = f"loss {report['loss']:.4f} nats per token, perplexity {report['perplexity']:.2f}"
    if "bits_per_character" in report:
        line += f", {report['bits_per_character']:.4f} bits per character"
    return line + (f" ({report['tokens']:,} tokens)" if "tokens" in report else "")


def training_summary(model: Any) -> list[str]:
    """The lines ``rnnkit train`` prints after a language model's training."""
    lines = []
    if model.training["valid"] is not None:
        lines.append(f"validation: {format_lm_report(model.training['valid'])}")
    if model.report is not None:
        lines.append(f"\ntest set {model.report['source']}: {format_lm_report(model.report)}")
    return [*lines, f'\nnext: rnnkit generate {model.run_dir} --prompt "Some text"']
