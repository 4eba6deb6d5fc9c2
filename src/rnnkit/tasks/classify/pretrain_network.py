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
Each is an adaptive softmax (Grave et al. 2017, torch's :class:`~torch.nn.AdaptiveLogSoftmaxWithLoss`): the
vocabulary is sorted by frequency, so the most frequent words are scored in full and the rare ones in clusters of
smaller vectors, a fifth of the cost of a full softmax over a 13,000-word vocabulary, where the full one was 90% of
a step. They are not tied to the embedding, which keeps its scale (N(0, 1)), the scale adversarial training is
sized for.
"""

from __future__ import annotations

from torch import Tensor, nn

from rnnkit.models.body import RecurrentBody
from rnnkit.nn import Dropout
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.text.spellings import Spellings

BODY = ("embedding.", "subwords.", "characters.", "encoder.")  # the weights a classifier takes from it


CUTOFFS = (2_000, 10_000)  # the adaptive softmax's head: the 2,000 most frequent tokens; then two clusters


def cutoffs(vocab_size: int) -> list[int]:
    """Where the adaptive softmax's clusters start, for a vocabulary of ``vocab_size``: a small vocabulary gets one
    small cluster of its rarest tenth (torch's module needs one)."""
    found = [c for c in CUTOFFS if c < vocab_size - 1]
    return found or [max(1, vocab_size - max(1, vocab_size // 10))]


class TextLanguageModel(RecurrentBody):
    """``ids`` ``[B, T]``, ``lengths`` ``[B]`` -> the states of each direction ``[B, T, H]``, from which
    :meth:`nll` scores the word after each position (forward) and, for a bidirectional body, the word before it."""

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
            nn.AdaptiveLogSoftmaxWithLoss(config.hidden_size, config.vocab_size, cutoffs(config.vocab_size))
            for _ in range(config.directions)
        )

    def forward(
        self, ids: Tensor, lengths: Tensor, noise: Tensor | None = None, spellings: Spellings | None = None
    ) -> list[Tensor]:
        x = self.embed(ids, noise, spellings)  # (B, T, E)
        outputs, _ = self.encoder(self.dropout(x), lengths)  # (B, T, D*H), zero at padding
        return list(self.dropout(outputs).split(self.config.hidden_size, dim=2))  # D of (B, T, H)

    def nll(self, states: list[Tensor], targets: list[Tensor], ignored: int) -> tuple[Tensor, int]:
        """The summed negative log-likelihood of every target of each direction (``targets`` ``[B, T]``, ``ignored``
        where there is none), and how many targets there were."""
        total, count = states[0].sum() * 0.0, 0  # a batch of one-word texts has no target, and still a graph
        for h, target, decoder in zip(states, targets, self.decoders, strict=False):
            kept = target != ignored
            if kept.any():
                total = total + decoder(h[kept], target[kept]).loss * int(kept.sum())
                count += int(kept.sum())
        return total, count

    def log_probabilities(self, ids: Tensor, lengths: Tensor) -> list[Tensor]:
        """Each direction's log-probabilities ``[B, T, V]`` of the word after (forward) or before (backward) each
        position: the whole distribution, for inspection and tests."""
        states = self(ids, lengths)
        return [d.log_prob(h.flatten(0, 1)).view(*h.shape[:2], -1) for h, d in zip(states, self.decoders, strict=False)]

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
