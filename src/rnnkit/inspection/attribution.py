"""Which tokens mattered to a classifier's answer: occlusion, and integrated gradients on the word vectors.

* **Occlusion** asks the network again with one token replaced by ``<unk>`` (or removed) and reports how much the
  probability of the explained class drops: positive means the token spoke for it. It needs nothing but the
  network, and a token that is already ``<unk>`` changes nothing when it is "replaced" by ``<unk>``.
* **Integrated gradients** (Sundararajan, Taly & Yan 2017) integrate the gradient of that probability along the
  straight path from a baseline (every word vector zero, as ``<pad>``'s is) to the text's vectors; each token's
  share is the sum over its vector's features. They are *complete*: the shares add up to the probability minus the
  baseline's, up to the error of the integral, which is reported as ``delta``. Captum, the well-kept library for
  attributions, computes them when it is installed (``pip install 'rnnkit[inspect]'``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from rnnkit.text import UNK_ID

IG_STEPS = 64  # Gauss-Legendre points: completeness holds to about 1e-4 on trained classifiers (tested)
CAPTUM_NOTE = "integrated gradients need captum: pip install 'rnnkit[inspect]'"

Scores = Callable[[Tensor, Tensor], Tensor]  # (ids [B, T], lengths [B]) -> class probabilities [B, C]


def captum_available() -> bool:
    try:
        import captum.attr  # noqa: F401
    except ImportError:
        return False
    return True


@torch.no_grad()
def occlusion(probabilities: Scores, ids: Tensor, target: int) -> dict[str, list[float]]:
    """The drop in the probability of class ``target`` when each token of ``ids`` ``[T]`` is replaced by
    ``<unk>`` (``unk``) and when it is removed (``removed``; a one-token text becomes a lone ``<unk>``, as an empty
    text is read)."""
    steps = ids.shape[0]
    base = float(probabilities(ids[None], torch.tensor([steps]))[0, target])
    replaced = ids.repeat(steps, 1)
    replaced[torch.arange(steps), torch.arange(steps)] = UNK_ID
    if steps > 1:
        keep = ~torch.eye(steps, dtype=torch.bool)
        removed, removed_lengths = ids.repeat(steps, 1)[keep].view(steps, steps - 1), torch.full((steps,), steps - 1)
    else:
        removed, removed_lengths = torch.tensor([[UNK_ID]]), torch.tensor([1])
    with_unk = probabilities(replaced, torch.full((steps,), steps))[:, target]
    without = probabilities(removed, removed_lengths)[:, target]
    return {"unk": (base - with_unk).tolist(), "removed": (base - without).tolist()}


def integrated_gradients(
    read: Callable[[Tensor, Tensor], Tensor], vectors: Tensor, target: int, steps: int = IG_STEPS
) -> dict[str, Any]:
    """Each token's share ``[T]`` of the probability of class ``target``, given by ``read(x [B, T, E], lengths
    [B]) -> class scores [B, C]`` on the text's word ``vectors`` ``[T, E]``, against all-zero vectors.

    ``delta`` is the completeness error: the probability minus the baseline's, minus the sum of the shares.
    """
    from captum.attr import IntegratedGradients

    length = torch.tensor([vectors.shape[0]])

    def probability(x: Tensor, lengths: Tensor) -> Tensor:
        return torch.softmax(read(x, lengths), dim=-1)[:, target]

    x = vectors.detach()[None].requires_grad_(True)
    with torch.enable_grad():
        attributions, delta = IntegratedGradients(probability).attribute(
            x,
            baselines=torch.zeros_like(x),
            additional_forward_args=(length,),
            n_steps=steps,
            method="gausslegendre",
            return_convergence_delta=True,
        )
    return {
        "values": attributions[0].sum(-1).tolist(),
        "baseline": "all word vectors zero (as <pad>'s)",
        "steps": steps,
        "delta": float(delta.abs().max()),
    }
