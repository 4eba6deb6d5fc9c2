"""A translation network run by torch, as the search of :mod:`rnnkit.tasks.translate.search` calls it.

:class:`TorchTranslator` gives :class:`~rnnkit.tasks.translate.translator.Translator` its two functions on NumPy
arrays: ``encode`` runs the encoder and the bridge, ``step`` one step of
:meth:`~rnnkit.tasks.translate.network.TranslationNetwork.step`. The decoder's state travels as arrays with the
rows first (``h`` and for an LSTM ``c`` ``[N, L, H]``, ``feed`` ``[N, O]``), the encoder's output as ``memory``
``[N, S, F]``, ``keys`` ``[N, S, A]`` and ``lengths`` ``[N]``: the same names and shapes as the ONNX graphs
(:mod:`rnnkit.tasks.translate.graph`) take, so both run under the one search.
"""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.tasks.translate.network import DecoderState, Encoded, TranslationNetwork
from rnnkit.tasks.translate.pieces import EOS_ID, Pieces
from rnnkit.tasks.translate.search import Arrays
from rnnkit.tasks.translate.translator import BANNED, Decoding, Translator


class TorchTranslator(Translator):
    """A :class:`TranslationNetwork` (put in evaluation mode) and its two sub-word models."""

    def __init__(
        self,
        network: TranslationNetwork,
        source_pieces: Pieces,
        target_pieces: Pieces,
        decoding: Decoding | None = None,
    ) -> None:
        super().__init__(network.config, source_pieces, target_pieces, decoding)
        self.network = network.eval()

    def __repr__(self) -> str:
        c = self.config
        return (
            f"TorchTranslator({c.cell.upper()} {c.encoder_layers}+{c.decoder_layers} layers, {c.attention} attention, "
            f"{len(self.source_pieces)} -> {len(self.target_pieces)} pieces)"
        )

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device)

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    @torch.inference_mode()
    def encode(self, ids: np.ndarray, lengths: np.ndarray) -> tuple[Arrays, Arrays]:
        network = self.network
        encoded = network.encode(self._tensor(ids), self._tensor(lengths))
        state = _state_arrays(network.start(encoded))
        context = {"memory": _array(encoded.memory), "keys": _array(encoded.keys), "lengths": lengths}
        return state, context

    @torch.inference_mode()
    def top(self, tokens: np.ndarray, state: Arrays, context: Arrays, k: int) -> tuple[np.ndarray, ...]:
        log_probs, state, _ = self._step(tokens, state, context)
        allowed = log_probs.clone()
        allowed[:, list(BANNED)] = float("-inf")
        values, best = allowed.topk(min(k, allowed.shape[1]), dim=1)
        return _array(values), _array(best), _array(log_probs[:, EOS_ID]), _state_arrays(state)

    @torch.inference_mode()
    def attend(self, tokens: np.ndarray, state: Arrays, context: Arrays) -> tuple[np.ndarray, Arrays, np.ndarray]:
        log_probs, at, weights = self._step(tokens, state, context)
        return _array(log_probs), _state_arrays(at), _array(weights)

    def _step(
        self, tokens: np.ndarray, state: Arrays, context: Arrays
    ) -> tuple[torch.Tensor, DecoderState, torch.Tensor]:
        memory = self._tensor(context["memory"])
        lengths = self._tensor(context["lengths"])
        mask = torch.arange(memory.shape[1], device=memory.device)[None, :] < lengths[:, None]  # (N, S)
        encoded = Encoded(memory, self._tensor(context["keys"]), mask, None)  # the first state is in ``state``
        h = self._tensor(state["h"]).transpose(0, 1).contiguous()  # (L, N, H)
        recurrent = (h, self._tensor(state["c"]).transpose(0, 1).contiguous()) if "c" in state else h
        at = DecoderState(recurrent, self._tensor(state["feed"]))
        return self.network.step(self._tensor(tokens), at, encoded)


def _array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().contiguous().numpy()


def _state_arrays(at: DecoderState) -> Arrays:
    """The decoder's state as arrays with the rows first: ``h`` (``c``) ``[N, L, H]``, ``feed`` ``[N, O]``."""
    parts = at.state if isinstance(at.state, tuple) else (at.state,)
    arrays = {name: _array(part.transpose(0, 1)) for name, part in zip(("h", "c"), parts, strict=False)}
    arrays["feed"] = _array(at.feed)
    return arrays
