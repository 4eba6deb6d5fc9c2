"""``SequenceTagger``: the shared body, bidirectional, and a tag score at every token (the lesson's output Y_i).

For a sentence ``w_1 .. w_T``::

    x_t = [E[w_t] ; chars(w_t)]        the word's embedding joined with its spelling's vector (unseen words too)
    h_t = BiRNN(x_1 .. x_T)_t          Recurrent: L layers, both directions, exact on each sentence's own length
    s_t = W h_t + b                    the score of every tag at position t, [K]

Without a CRF, each position's tag is ``argmax s_t`` and training minimises the cross-entropy of each tag. With
``crf``, a :class:`~rnnkit.nn.crf.CRF` adds a score for each pair of neighbouring tags, training maximises the
probability of the whole gold sequence, and decoding finds the best sequence (Viterbi).
"""

from __future__ import annotations

from torch import Tensor, nn

from rnnkit.models.body import RecurrentBody, Spellings
from rnnkit.nn import Dropout
from rnnkit.nn.crf import CRF
from rnnkit.tasks.classify.network import replace_words
from rnnkit.tasks.tag.config import TaggerConfig


class SequenceTagger(RecurrentBody):
    """``ids`` ``[B, T]``, ``lengths`` ``[B]`` and the words' ``spellings`` -> tag scores ``[B, T, K]``.

    Scores at padding positions are computed but mean nothing: every loss, decoder and metric masks them.
    ``noise`` ``[B, T, E]``, if given, is added to the word embeddings (adversarial training).
    """

    def __init__(self, config: TaggerConfig) -> None:
        super().__init__(**self.settings(config))
        self.config = config
        self.dropout = Dropout(config.dropout)
        self.output = nn.Linear(self.encoder.output_size, config.num_tags)
        if config.crf:
            self.crf = CRF(config.num_tags)

    def forward(
        self, ids: Tensor, lengths: Tensor, spellings: Spellings | None = None, noise: Tensor | None = None
    ) -> Tensor:
        ids = replace_words(ids, self.config.word_dropout) if self.training else ids
        x = self.embed(ids, noise, spellings)  # (B, T, E + 2C)
        outputs, _ = self.encoder(self.dropout(x), lengths)  # (B, T, D*H)
        return self.output(self.dropout(outputs))  # (B, T, K)
