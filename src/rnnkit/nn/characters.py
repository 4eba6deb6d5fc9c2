"""``CharacterEncoder``: a word spelled out, read by a small bidirectional LSTM, as a vector (Lample et al. 2016;
Plank et al. 2016).

A word embedding knows only the words seen in training; every other word is ``<unk>``. Its spelling still says a
lot: "-ly" makes adverbs, "-ed" past tenses, a capital letter names, digits numbers. For a word of characters
``c_1 .. c_n``::

    x_k = C[c_k]                                   character embedding, C [A, D]
    f = LSTM_forward(x_1 .. x_n)  after c_n         [H]
    b = LSTM_backward(x_n .. x_1) after c_1         [H]
    v = [f ; b]                                     [2H]: the suffix is read last by f, the prefix last by b

The encoder reads each *distinct* spelling of a batch once (a batch of 32 sentences holds about 600 tokens but
300 spellings), and the caller gathers the vectors back to their positions.
"""

from __future__ import annotations

from torch import Tensor, nn

from rnnkit.nn.recurrent import Recurrent
from rnnkit.text import PAD_ID


class CharacterEncoder(nn.Module):
    """``chars`` ``[U, L]`` (character ids, padded with 0) and ``lengths`` ``[U]`` (each at least 1) -> ``[U, 2H]``.

    Parameters are ``embedding.weight`` ``[A, D]`` and ``encoder.*``, a one-layer bidirectional LSTM named as
    ``torch.nn.LSTM`` names its weights."""

    def __init__(self, alphabet_size: int, embedding_dim: int, hidden_size: int, backend: str = "fused") -> None:
        super().__init__()
        self.embedding = nn.Embedding(alphabet_size, embedding_dim, padding_idx=PAD_ID)
        self.encoder = Recurrent("lstm", embedding_dim, hidden_size, bidirectional=True, backend=backend)
        self.output_size = 2 * hidden_size

    def forward(self, chars: Tensor, lengths: Tensor) -> Tensor:
        _, (h, _) = self.encoder(self.embedding(chars), lengths)  # h: (2, U, H), forward then backward
        return h.transpose(0, 1).reshape(len(chars), self.output_size)  # (U, 2H)
