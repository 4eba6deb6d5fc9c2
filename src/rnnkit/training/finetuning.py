"""Fine-tuning a pretrained network the ULMFiT way (Howard & Ruder 2018, *Universal language model fine-tuning for
text classification*), so that what the language model learnt is kept while the classifier learns its task:

* **discriminative learning rates**: the network's layer groups, bottom (the embeddings) to top (the classifier's
  head), each get the rate of the group above divided by ``layer_decay`` (2.6 in the paper): the lower layers, which
  hold the most general knowledge, move least;
* **gradual unfreezing**: in epoch 1 only the head trains, in epoch 2 the top recurrent layer too, and so on down,
  until every group trains: the new, random head does not wreck the pretrained layers with its first, large
  gradients;
* the **slanted triangular schedule**: the rate rises linearly over the first ``CUT_FRAC`` of the steps to its peak,
  then falls linearly to ``1 / RATIO`` of it: quick to a good region, then a long refinement.

Each is a setting of the one training loop (:class:`rnnkit.training.trainer.TrainConfig`): ``layer_decay``,
``unfreeze`` and ``schedule="slanted"``; any network trains with them, the groups coming from its weights' names.
None is a default: measured on validation after ``--pretrain``, they did worse here than plain fine-tuning
(benchmarks/RESULTS.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from torch import nn

CUT_FRAC = 0.1  # the share of the steps spent rising (the paper's value)
RATIO = 32  # how much smaller the lowest rate is than the peak (the paper's value)
BOTTOM = ("embedding.", "subwords.", "characters.")  # what reads the words: the lowest group
LAYER = re.compile(r"^encoder\.\w+_l(\d+)(_reverse)?$")


def layer_groups(model: nn.Module) -> list[list[nn.Parameter]]:
    """The parameters of ``model`` in groups from bottom to top: the word vectors (embedding, sub-words,
    characters), each recurrent layer (both directions), and the rest, the head (pooling, output). A network
    without recurrent layers has two groups, a group that would be empty is left out."""
    bottom: list[nn.Parameter] = []
    layers: dict[int, list[nn.Parameter]] = {}
    head: list[nn.Parameter] = []
    for name, parameter in model.named_parameters():
        found = LAYER.match(name)
        if name.startswith(BOTTOM):
            bottom.append(parameter)
        elif found:
            layers.setdefault(int(found.group(1)), []).append(parameter)
        else:
            head.append(parameter)
    return [group for group in [bottom, *(layers[k] for k in sorted(layers)), head] if group]


def discriminative_groups(model: nn.Module, lr: float, layer_decay: float) -> list[dict]:
    """The optimiser's parameter groups: the top group at ``lr``, each group below at the rate above it divided by
    ``layer_decay``."""
    groups = layer_groups(model)
    top = len(groups) - 1
    return [{"params": group, "lr": lr / layer_decay ** (top - k)} for k, group in enumerate(groups)]


def thaw(model: nn.Module, epoch: int) -> None:
    """Gradual unfreezing: in ``epoch`` (from 1) the top ``epoch`` groups train and the ones below are frozen (no
    gradient, so no update and no weight decay)."""
    groups = layer_groups(model)
    for k, group in enumerate(groups):
        for parameter in group:
            parameter.requires_grad_(k >= len(groups) - epoch)


def slanted_triangular(total_steps: int) -> Callable[[int], float]:
    """The learning-rate factor of ``schedule="slanted"`` at each step: up from ``1 / RATIO`` to 1 over the first
    ``CUT_FRAC`` of ``total_steps``, then down to ``1 / RATIO`` at the last step."""
    cut = max(1, int(total_steps * CUT_FRAC))

    def factor(step: int) -> float:
        p = step / cut if step < cut else 1 - (step - cut) / max(1, total_steps - cut)
        return (1 + max(0.0, p) * (RATIO - 1)) / RATIO

    return factor
