"""What every task's reading of one text shares (each task reads in ``rnnkit.tasks.<name>.inspect``): the dict's
frame (format, text, tokens, the model in the words of ``rnnkit train``'s options) and the network's states and
gates at every token, from the cell formulas (:meth:`rnnkit.nn.Recurrent.trace`). The schema is in
:mod:`rnnkit.inspection`.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from rnnkit.inspection.states import layer_views

FORMAT, VERSION = "rnnkit-inspection", 1


def summary(config: Any, task: str, member: int | None = None) -> dict[str, Any]:
    """What kind of network this is, in the words of ``rnnkit train``'s options."""
    bag = config.recurrent_layers == 0  # a network without a recurrent layer: the bag of embeddings
    return {
        "task": task,
        "kind": "bag" if bag else "rnn",
        "cell": None if bag else config.cell,
        "bidirectional": bool(getattr(config, "bidirectional", False)) and not bag,
        "layers": 0 if bag else config.num_layers,
        "hidden_size": 0 if bag else config.hidden_size,
        "member": member,
        "members": getattr(config, "members", 1),
    }


def states(network: nn.Module, vectors: Tensor) -> dict[str, Any]:
    """The traced layers of ``network``'s recurrent stack over the word ``vectors`` ``[T, F]``."""
    layers = layer_views(network.encoder.trace(vectors), network.encoder.num_directions)
    return {"stateful": True, "note": None, "layers": layers, "gates": layers[-1]["gates"]}


def base(text: str, tokens: list[str], truncated: int, model: dict[str, Any], unknown: list[bool]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "text": text,
        "tokens": tokens,
        "unknown": unknown,  # read as <unk>: the network never saw the token in training
        "truncated": truncated,
        "model": model,
    }
