"""``rnnkit export``: a model directory as one ONNX file, checked against torch before it is written."""

from __future__ import annotations

import click


@click.command()
@click.argument("model", type=click.Path(file_okay=False))
@click.argument("output", type=click.Path(dir_okay=False))
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="Run the graph with onnxruntime beside the torch network first; write nothing if they differ.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing OUTPUT [default: refuse].")
def export(model, output, check, overwrite) -> None:
    """Export MODEL as one ONNX file, OUTPUT: the network, with its tokenizer, vocabulary (and labels) as metadata.

    A classifier takes ids [batch, steps] (int64, padded with 0) and lengths [batch] and gives probabilities
    [batch, classes]; 'rnnkit predict OUTPUT' runs it. A language model takes ids [batch, steps] and its state h0
    (and c0) [layers, batch, hidden] and gives logits [batch, steps, vocabulary] and the state after the last step.
    A tagger takes ids and lengths (and each batch's spellings) and gives tag scores [batch, steps, tags]; a CRF's
    transitions go in the metadata, for Viterbi outside the graph.
    Needs onnx and onnxruntime (pip install 'rnnkit[onnx]').
    """
    from rnnkit.export import TOLERANCE, export_onnx

    difference = export_onnx(model, output, check=check, overwrite=overwrite)
    checked = f"; onnxruntime matches torch to {difference:.1e} (allowed {TOLERANCE:.0e})" if check else ""
    click.echo(f"exported {model} to {output}{checked}")
