"""A language model on the command line: its own verb, ``rnnkit generate``, and ``rnnkit evaluate`` on a text
file."""

from __future__ import annotations

import sys
from typing import Any

import click


def evaluate(model: Any, data: str) -> tuple[dict[str, Any], list[str]]:
    """The language model's figures on a text file (no lines to say: the report names its source)."""
    return model.evaluate(data), []


@click.command()
@click.argument("model", type=click.Path())
@click.option("--prompt", default="", help="The text to continue [default: start at the beginning of a line].")
@click.option("--length", type=int, default=200, show_default=True, help="Tokens to write (characters, or words).")
@click.option("--temperature", type=float, default=1.0, show_default=True, help="Below 1 safer, above 1 wilder.")
@click.option("--top-k", type=int, help="Draw from the K most likely tokens only (1: always the most likely).")
@click.option("--top-p", type=float, help="Draw from the fewest most likely tokens that hold this much probability.")
@click.option("--seed", type=int, help="The same seed writes the same text [default: a new text each time].")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True, help="Texts to write.")
def generate(
    model: str, prompt: str, length: int, temperature: float, top_k: int | None, top_p: float | None,
    seed: int | None, count: int,
) -> None:  # fmt: skip
    """Write text with the language model MODEL, token by token as it is drawn.

    The prompt is read once; then the network's state is carried one token at a time. Runs on onnxruntime when it
    is installed (no torch), else on torch.
    """
    from rnnkit.cli.verbs import load_for
    from rnnkit.tasks.lm.sampling import check_sampling

    check_sampling(temperature, top_k, top_p, length)
    generator, _ = load_for("generate", model)
    generator.encode_prompt(prompt)  # a character the model never saw: refused before anything is written
    for i in range(count):
        if i:
            click.echo("\n---")
        click.echo(prompt, nl=False)
        seed_i = None if seed is None else seed + i
        for piece in generator.stream(prompt, length, temperature, top_k, top_p, seed_i):
            click.echo(piece, nl=False)
            sys.stdout.flush()
        click.echo()


COMMANDS = [generate]
