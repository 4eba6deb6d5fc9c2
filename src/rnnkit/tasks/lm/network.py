"""``LanguageModel``: the shared body (embedding -> ``Recurrent``), run forwards, and a decoder at every step that
scores the next token.

At each position t of a text ``w_1 .. w_T``::

    x_t = E[w_t]                           embedding, E [V, E]: dropout in training
    h_t, s_t = RNN(x_t, s_{t-1})           Recurrent: L layers, forwards only, state s carried on
    z_t = P h_t                            projection P [E, H], only when tied and H != E; dropout before it
    logits_t = W z_t + b                   decoder: W is E itself when tied (Press & Wolf 2017), else [V, H]
    p(w_{t+1} | w_1 .. w_t) = softmax(logits_t)

Training minimises the cross-entropy of ``logits_t`` against ``w_{t+1}`` (its exponential is the perplexity).
The state at the end of one window of text is the start of the next (:func:`rnnkit.data.corpus.windows`), and
generation feeds each drawn token back in, one step at a time, carrying the state.

The body's weights are named as in :class:`rnnkit.models.TextClassifier` (``embedding.weight``, ``encoder.*``), so a
language model's body loads into a unidirectional classifier of the same sizes by name: that is pretraining.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.models.body import RecurrentBody
from rnnkit.nn import Dropout
from rnnkit.tasks.lm.config import LanguageModelConfig
from rnnkit.text import PAD_ID
from rnnkit.text.spellings import Spellings
from rnnkit.text.subwords import vocabulary_ngrams

State = Tensor | tuple[Tensor, Tensor]


class Decoder(nn.Module):
    """The decoder's own parameters: ``bias`` ``[V]`` always, ``weight`` ``[V, F]`` only when not tied (with tied
    weights the matrix is the embedding's, held once, by the embedding)."""

    def __init__(self, features: int, vocab_size: int, tied: bool) -> None:
        super().__init__()
        if tied:
            self.register_parameter("weight", None)
        else:
            self.weight = nn.Parameter(torch.empty(vocab_size, features).uniform_(-0.1, 0.1))
        self.bias = nn.Parameter(torch.zeros(vocab_size))


class LanguageModel(RecurrentBody):
    """``ids`` ``[B, T]`` (and the state after the text before them) -> the next token's scores ``[B, T, V]``.

    ``forward(ids, state=None, noise=None)`` returns ``(logits, state)``: ``logits[b, t]`` scores the token that
    follows ``ids[b, t]``; ``state`` is ``h_n`` ``[L, B, H]``, or ``(h_n, c_n)`` for LSTM, the state after the last
    token, to pass to the next call (zeros when ``state`` is ``None``: the start of a text). ``noise`` ``[B, T, E]``,
    if given, is added to the embeddings (adversarial training, as in :class:`~rnnkit.models.TextClassifier`).

    Inputs are full windows of running text, never padded; ``<pad>`` keeps its id (0) only so that the vocabulary
    is the classifier's. With tied weights the ``<pad>`` row of the embedding is also an output vector and learns
    as one (``<pad>`` is never a target, so it learns to score low).
    """

    def __init__(self, config: LanguageModelConfig) -> None:
        super().__init__(**self.settings(config))
        self.config = config
        if config.tie_weights:
            # Tied, the embedding is also the output matrix: uniform in ±0.1, as the PyTorch word-language-model
            # example does, so that the first predictions start near uniform instead of confident and wrong.
            with torch.no_grad():
                self.embedding.weight.uniform_(-0.1, 0.1)
                self.embedding.weight[PAD_ID].zero_()
        # Untied, torch's N(0, 1) stays: on tinyshakespeare it reached a validation loss of 2.04 after 58 steps
        # where rows in ±0.1 were still at 3.23 (benchmarks/RESULTS.md): small inputs barely move the gates.
        self.dropout = Dropout(config.dropout)
        if config.projected:
            self.projection = nn.Linear(config.hidden_size, config.embedding_dim, bias=False)
        features = config.embedding_dim if config.tie_weights else config.hidden_size
        self.decoder = Decoder(features, config.vocab_size, tied=config.tie_weights)

    def spell(self, tokens: list[str]) -> None:
        """Give a network that reads sub-words its vocabulary's n-grams
        (:func:`rnnkit.text.subwords.vocabulary_ngrams`), derived again wherever the model is built, never saved: the
        ids it reads are the vocabulary's."""
        table = vocabulary_ngrams(self.config, tokens)
        if table is not None:
            self.register_buffer("vocabulary_ngrams", torch.from_numpy(table.astype(np.int64)), persistent=False)

    def embed(self, ids: Tensor, noise: Tensor | None = None, spellings: Spellings | None = None) -> Tensor:
        """The body's word vectors; with sub-words, each id spelled by the vocabulary's n-grams (a word outside the
        vocabulary is ``<unk>``, which has none): each distinct id of the batch once."""
        if spellings is None and hasattr(self, "subwords"):
            if not hasattr(self, "vocabulary_ngrams"):
                raise ValueError(
                    "this language model reads sub-words: give it its vocabulary first, model.spell(tokens)"
                )
            distinct, forms = torch.unique(ids, return_inverse=True)
            spellings = Spellings(forms, ngrams=self.vocabulary_ngrams[distinct])
        return super().embed(ids, noise, spellings)

    @property
    def decoder_weight(self) -> Tensor:
        """The decoder's matrix ``[V, F]``: the embedding's own tensor when tied, else ``decoder.weight``."""
        return self.embedding.weight if self.decoder.weight is None else self.decoder.weight

    def init_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        """The state at the start of a text: zeros, ``[L, B, H]`` (a pair of them for LSTM)."""
        c = self.config
        h = torch.zeros(c.num_layers, batch_size, c.hidden_size, device=device, dtype=self.embedding.weight.dtype)
        return (h, h.clone()) if c.cell == "lstm" else h

    def forward(self, ids: Tensor, state: State | None = None, noise: Tensor | None = None) -> tuple[Tensor, State]:
        x = self.embed(ids, noise)  # (B, T, E)
        outputs, state = self.encoder(self.dropout(x), None, state)  # (B, T, H); state (L, B, H)
        outputs = self.dropout(outputs)
        if self.config.projected:
            outputs = self.projection(outputs)  # (B, T, E)
        logits = F.linear(outputs, self.decoder_weight, self.decoder.bias)  # (B, T, V)
        return logits, state


def detach_state(state: State) -> State:
    """The state cut from the graph that made it: the next window starts from its values, and backpropagation
    stops at the window's start (truncated backpropagation through time)."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
