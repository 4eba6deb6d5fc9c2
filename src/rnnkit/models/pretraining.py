"""``TextLanguageModel``: a classifier's body pretrained as a language model of its own kind of text (ULMFiT, Howard
& Ruder 2018), before it learns its labels.

The body is the classifier's own (built from its :class:`~rnnkit.models.ClassifierConfig`, weights named alike:
``embedding.weight``, ``subwords.weight``, ``encoder.*``), so that after pretraining it loads into the classifier by
name. Each text is read on its own, as the classifier reads it. A bidirectional encoder is a pair of language
models (as in ELMo, Peters et al. 2018), one layer deep so that neither direction sees what it must predict::

    x_t = E[w_t] (+ sub-words)               the classifier's word vectors; dropout in training
    f_t, b_t = Recurrent(x_1 .. x_T)         forward state after w_1 .. w_t, backward state after w_T .. w_t
    p(w_{t+1} | w_1 .. w_t) = softmax(W_f f_t + c_f)       the next word, from the forward direction
    p(w_{t-1} | w_t .. w_T) = softmax(W_b b_t + c_b)       the previous word, from the backward direction

The decoders (``decoders.0``, ``decoders.1``) are its own and are left behind: the classifier takes the body only.
They are not tied to the embedding, which keeps its scale (N(0, 1)), the scale adversarial training is sized for.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.models.body import RecurrentBody
from rnnkit.models.config import ClassifierConfig
from rnnkit.models.language_model import Decoder
from rnnkit.nn import Dropout
from rnnkit.text.spellings import Spellings

BODY = ("embedding.", "subwords.", "characters.", "encoder.")  # the weights a classifier takes from it


class TextLanguageModel(RecurrentBody):
    """``ids`` ``[B, T]``, ``lengths`` ``[B]`` -> ``(next, previous)``: the scores ``[B, T, V]`` of the word after
    each position (forward direction) and, for a bidirectional body, of the word before it (else ``None``)."""

    def __init__(self, config: ClassifierConfig) -> None:
        if config.bidirectional and config.num_layers > 1:
            raise ValueError(
                "a bidirectional body is pretrained one layer deep (deeper, each direction would read what the other "
                "must predict): use one layer, or a forward-only body"
            )
        super().__init__(**self.settings(config))
        self.config = config
        self.dropout = Dropout(config.dropout)
        self.decoders = nn.ModuleList(
            Decoder(config.hidden_size, config.vocab_size, tied=False) for _ in range(config.directions)
        )

    def forward(
        self, ids: Tensor, lengths: Tensor, noise: Tensor | None = None, spellings: Spellings | None = None
    ) -> tuple[Tensor, Tensor | None]:
        x = self.embed(ids, noise, spellings)  # (B, T, E)
        outputs, _ = self.encoder(self.dropout(x), lengths)  # (B, T, D*H), zero at padding
        directions = self.dropout(outputs).split(self.config.hidden_size, dim=2)  # D of (B, T, H)
        scores = [F.linear(h, d.weight, d.bias) for h, d in zip(directions, self.decoders, strict=True)]
        return scores[0], scores[1] if len(scores) > 1 else None

    def body(self) -> dict[str, Tensor]:
        """The weights a classifier of the same configuration starts from, by name."""
        return {name: value for name, value in self.state_dict().items() if name.startswith(BODY)}


def start_from(classifier: nn.Module, body: dict[str, Tensor]) -> None:
    """Load a pretrained ``body`` (:meth:`TextLanguageModel.body`, or a language model's) into ``classifier`` by name;
    every weight of the body must find its place, of the same shape, and the classifier's own head stays as it is."""
    own = classifier.state_dict()
    missing = sorted(name for name in body if name not in own or own[name].shape != body[name].shape)
    if missing:
        raise ValueError(f"the pretrained body does not fit this classifier: {', '.join(missing[:5])}")
    classifier.load_state_dict(body, strict=False)
