"""Text classifiers: the lesson's recurrent network, and the bag-of-embeddings baseline it improves on.

``TextClassifier``: embedding -> ``Recurrent`` -> pooling -> dropout -> linear, as in the lesson (where the
classifier reads the final state), with the pooling made a choice. ``BagOfEmbeddings``: the lesson's previous
unit, the average of the word embeddings -> linear; it ignores word order, which shows what order adds.
``Ensemble``: several such networks trained apart, their class probabilities averaged.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.models.body import RecurrentBody
from rnnkit.nn import Dropout, Pooling
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.text import PAD_ID, UNK_ID
from rnnkit.text.spellings import Spellings


def replace_words(ids: Tensor, rate: float) -> Tensor:
    """Word dropout: replace a random ``rate`` of the real tokens by ``<unk>``, so that the network learns what to
    do with words it has never seen, as it must at test time."""
    if rate == 0.0:
        return ids
    drop = (torch.rand(ids.shape, device=ids.device) < rate) & (ids != PAD_ID)
    return ids.masked_fill(drop, UNK_ID)


class TextClassifier(RecurrentBody):
    """``ids`` ``[B, T]``, ``lengths`` ``[B]`` -> class scores (logits) ``[B, C]``: the shared body, pooled, then a
    linear layer.

    ``noise`` ``[B, T, E]``, if given, is added to the word embeddings: adversarial training
    (:func:`rnnkit.training.trainer.adversarial_backward`) moves them in the direction that hurts most.
    """

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__(**self.settings(config))
        self.config = config
        self.pooling = Pooling(config.pooling, self.encoder.output_size, bidirectional=config.bidirectional)
        self.dropout = Dropout(config.dropout)
        self.output = nn.Linear(self.pooling.output_size, config.num_classes)

    def forward(
        self, ids: Tensor, lengths: Tensor, noise: Tensor | None = None, spellings: Spellings | None = None
    ) -> Tensor:
        ids = replace_words(ids, self.config.word_dropout) if self.training else ids
        return self.read(self.embed(ids, noise, spellings), lengths)

    def read(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Class scores ``[B, C]`` from the word vectors ``x`` ``[B, T, E]``: where attributions to the embeddings
        (integrated gradients) enter the network."""
        outputs, _ = self.encoder(self.dropout(x), lengths)  # (B, T, D*H), zero at padding
        pooled = self.pooling(outputs, lengths)  # (B, D*H)
        return self.output(self.dropout(pooled))  # (B, C)


class BagOfEmbeddings(nn.Module):
    """The average of the text's word embeddings (padding excluded) -> dropout -> linear; order-blind.

    ``noise`` ``[B, E]``, if given, is added to the average (adversarial training).
    """

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.EmbeddingBag(config.vocab_size, config.embedding_dim, mode="mean", padding_idx=PAD_ID)
        self.dropout = Dropout(config.dropout)
        self.output = nn.Linear(config.embedding_dim, config.num_classes)

    def noise_shape(self, ids: Tensor) -> tuple[int, ...]:
        return (ids.shape[0], self.config.embedding_dim)

    def forward(
        self, ids: Tensor, lengths: Tensor, noise: Tensor | None = None, spellings: Spellings | None = None
    ) -> Tensor:
        ids = replace_words(ids, self.config.word_dropout) if self.training else ids
        x = self.embedding(ids)  # (B, E)
        if noise is not None:
            x = x + noise
        return self.output(self.dropout(x))  # (B, C)

    def embed(self, ids: Tensor, spellings: Spellings | None = None) -> Tensor:
        """Each token's vector ``[B, T, E]`` (``<pad>``'s is zero), before the average: what attributions read.
        ``spellings`` are accepted as the recurrent body's :meth:`~RecurrentBody.embed` takes them (a bag reads
        no sub-words)."""
        return F.embedding(ids, self.embedding.weight, padding_idx=PAD_ID)

    def read(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Class scores from the token vectors ``x`` ``[B, T, E]``: their average over each text's own length,
        as :meth:`forward` computes it, as a function of the vectors (for integrated gradients)."""
        mask = (torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]).to(x.dtype)  # (B, T)
        mean = (x * mask[:, :, None]).sum(1) / lengths[:, None].to(x.dtype)
        return self.output(self.dropout(mean))  # (B, C)


class Ensemble(nn.Module):
    """The mean of the members' class probabilities, returned as its logarithm so that it serves as logits
    (``softmax`` of it gives the mean back; ``argmax`` is the ensemble's vote).

    Networks trained from different seeds on a small data set err on different texts; averaging them removes
    much of that seed-to-seed variance (measured in benchmarks/RESULTS.md).
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, ids: Tensor, lengths: Tensor, spellings: Spellings | None = None) -> Tensor:
        probabilities = torch.stack(
            [member(ids, lengths, spellings=spellings).softmax(-1) for member in self.members]
        ).mean(0)
        return probabilities.clamp_min(torch.finfo(probabilities.dtype).tiny).log()


def build_classifier(config: ClassifierConfig) -> nn.Module:
    """The network of ``config``: one classifier, or an ``Ensemble`` of ``config.members``."""
    kind = TextClassifier if config.model == "rnn" else BagOfEmbeddings
    if config.members == 1:
        return kind(config)
    return Ensemble([kind(config) for _ in range(config.members)])


def members_of(model: nn.Module) -> list[nn.Module]:
    """The networks that make up ``model``: its members for an ``Ensemble``, else the model itself."""
    return list(model.members) if isinstance(model, Ensemble) else [model]
