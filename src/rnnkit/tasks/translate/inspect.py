"""One sentence as a trained translator reads and translates it: the source's pieces, the encoder's states and gates
at each of them (the shared body's reading), and the translation with the attention of each target piece over the
source's: where the decoder looked as it wrote each piece."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rnnkit.errors import RnnkitError
from rnnkit.inspection.reading import base, states

TOP_SOURCES = 3  # the source pieces each target piece attended to most, in the terminal's table


def summary(config: Any) -> dict[str, Any]:
    """The network in the words of the inspection's schema: its encoder, which the states are of."""
    return {
        "task": "translate",
        "kind": "rnn",
        "cell": config.cell,
        "bidirectional": config.bidirectional,
        "layers": config.encoder_layers,
        "hidden_size": config.encoder_hidden_size,
        "member": None,
        "members": 1,
    }


@torch.no_grad()
def inspect(pipeline: Any, text: str) -> dict[str, Any]:
    """The reading of ``text`` by a translator (the schema is in :mod:`rnnkit.inspection`); ``prediction`` is
    ``{translation, target [pieces and </s>], attention [target][source] (each row sums to 1), beam}``."""
    if not text.strip():
        raise RnnkitError("the text is empty: give a sentence to translate")
    found = pipeline.attention(text)
    network = pipeline.model.eval()
    ids = torch.tensor(pipeline.source_pieces.encode([text])[0], dtype=torch.long)
    weights = np.asarray(found["weights"], dtype=float)
    return {
        **base(text, found["source"], 0, summary(pipeline.model_config), [False] * len(found["source"])),
        "labels": None,
        "prediction": {
            "translation": found["translation"],
            "target": found["target"],
            "attention": weights.round(6).tolist(),
            "beam": pipeline.decoding.beam,
        },
        **states(network, network.embed(ids[None])[0]),
        "attributions": None,
    }
