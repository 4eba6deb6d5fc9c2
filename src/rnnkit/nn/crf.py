"""A linear-chain conditional random field: an output layer that scores whole tag sequences.

A tagger with a softmax per token picks each tag on its own, so nothing stops it from predicting ``I-PER``
right after ``B-ORG``. A CRF adds a learned score for every pair of neighbouring tags and normalises over
all tag sequences at once, so it learns which sequences are valid and decodes the best one as a whole
(Lample et al. 2016, "Neural Architectures for Named Entity Recognition").

For emissions ``e`` (the network's ``[T, K]`` scores of each tag at each token) and tags ``y_1..y_n``
(``n`` the sequence's own length)::

    score(y) = start[y_1] + sum_t e_t[y_t] + sum_{t>1} transitions[y_{t-1}, y_t] + end[y_n]
    p(y | x) = exp(score(y)) / Z,        Z = sum over all K^n tag sequences y' of exp(score(y'))

``log Z`` comes from the forward algorithm, ``K^2`` work per step instead of ``K^n`` sequences::

    alpha_1[j] = start[j] + e_1[j]
    alpha_t[j] = e_t[j] + logsumexp_i(alpha_{t-1}[i] + transitions[i, j])
    log Z      = logsumexp_j(alpha_n[j] + end[j])

The best sequence comes from the same recursion with ``max`` for ``logsumexp`` (Viterbi); ``argmax`` at
each step is kept as a backpointer, and the path is read backwards from the best last tag.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.nn.pooling import valid_mask


class CRF(nn.Module):
    """CRF over ``num_tags`` tags: ``forward`` gives the training loss, ``decode`` the best tag paths.

    Parameters: ``transitions`` ``[K, K]`` (``transitions[i, j]`` scores tag j following tag i),
    ``start_transitions`` and ``end_transitions`` ``[K]`` (scores of the first and last tag).

    Shapes: ``emissions`` ``[B, T, K]``, ``tags`` ``[B, T]`` long, ``lengths`` ``[B]`` integers in ``0..T``
    (``None``: all T). Positions ``t >= lengths[b]`` are ignored entirely: their emissions and tags may hold
    anything (``-100`` included), so padding a batch further changes no result and no gradient.
    A sequence of length 0 has one (empty) tag sequence: its log-likelihood and ``log Z`` are 0.
    """

    def __init__(self, num_tags: int) -> None:
        super().__init__()
        if num_tags <= 0:
            raise ValueError(f"CRF: num_tags must be positive, got {num_tags}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        self.start_transitions = nn.Parameter(torch.empty(num_tags))
        self.end_transitions = nn.Parameter(torch.empty(num_tags))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in ``±0.1``, as pytorch-crf initialises them: near zero, so no tag pair is favoured at first."""
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}"

    def forward(self, emissions: Tensor, tags: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The loss: ``-sum_b log p(tags_b | x_b)`` divided by the number of tokens ``sum_b lengths[b]``.

        Dividing by tokens (not sequences) gives the loss the scale of a per-token cross-entropy, so learning
        rates and loss curves compare with a softmax tagger's, and long sentences weigh as much as their tokens.
        """
        log_likelihood = self.log_likelihood(emissions, tags, lengths)  # checks the arguments
        tokens = emissions.shape[0] * emissions.shape[1] if lengths is None else int(lengths.sum())
        return -log_likelihood.sum() / max(tokens, 1)

    def log_likelihood(self, emissions: Tensor, tags: Tensor, lengths: Tensor | None = None) -> Tensor:
        """``log p(tags | x)`` per sequence, ``[B]``: the score of the given tags minus ``log Z``."""
        lengths = self._check(emissions, tags, lengths)
        mask = valid_mask(lengths, emissions.shape[1])
        emissions = emissions.masked_fill(~mask[..., None], 0.0)
        tags = torch.where(mask, tags, 0)  # padding may hold -100: any valid index will do, it is masked below
        score = emissions.gather(2, tags[..., None]).squeeze(2).sum(1)  # sum_t e_t[y_t]; padding emits 0
        pairs = self.transitions[tags[:, :-1], tags[:, 1:]]  # (B, T-1): transitions[y_{t-1}, y_t]
        score = score + torch.where(mask[:, 1:], pairs, 0.0).sum(1)
        last = tags.gather(1, (lengths - 1).clamp(min=0)[:, None]).squeeze(1)
        ends = self.start_transitions[tags[:, 0]] + self.end_transitions[last]
        score = score + torch.where(lengths > 0, ends, 0.0)
        return score - self._log_partition(emissions, lengths, mask)

    def log_partition(self, emissions: Tensor, lengths: Tensor | None = None) -> Tensor:
        """``log Z`` per sequence, ``[B]``, by the forward algorithm (see the module's docstring)."""
        lengths = self._check(emissions, None, lengths)
        mask = valid_mask(lengths, emissions.shape[1])
        return self._log_partition(emissions.masked_fill(~mask[..., None], 0.0), lengths, mask)

    def _log_partition(self, emissions: Tensor, lengths: Tensor, mask: Tensor) -> Tensor:
        alpha = self.start_transitions + emissions[:, 0]  # (B, K)
        for t in range(1, emissions.shape[1]):
            # (B, K, 1) + (K, K): entry [b, i, j] scores every path ending in tag i at t-1 then tag j at t
            step = emissions[:, t] + torch.logsumexp(alpha[:, :, None] + self.transitions, dim=1)
            alpha = torch.where(mask[:, t, None], step, alpha)  # a sequence that has ended keeps its alpha
        log_z = torch.logsumexp(alpha + self.end_transitions, dim=1)
        return torch.where(lengths > 0, log_z, 0.0)

    @torch.no_grad()
    def decode(self, emissions: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The Viterbi best tag path of each sequence, ``[B, T]`` long; positions ``t >= lengths[b]`` hold 0.

        0 is a valid tag id, so read a path only up to its length (a length-0 sequence decodes to nothing).
        """
        lengths = self._check(emissions, None, lengths)
        steps = emissions.shape[1]
        mask = valid_mask(lengths, steps)
        score = self.start_transitions + emissions[:, 0]  # (B, K): best score of a path ending in each tag
        backpointers = []
        for t in range(1, steps):
            best, previous = (score[:, :, None] + self.transitions).max(dim=1)  # over the previous tag i
            score = torch.where(mask[:, t, None], best + emissions[:, t], score)
            backpointers.append(previous)  # (B, K): the best tag at t-1 given tag j at t
        tag = (score + self.end_transitions).argmax(dim=1)  # (B,) the best last tag
        path = [tag]
        for t in range(steps - 1, 0, -1):  # until t reaches a sequence's last token, it keeps its best last tag
            tag = torch.where(t < lengths, backpointers[t - 1].gather(1, tag[:, None]).squeeze(1), tag)
            path.append(tag)
        return torch.where(mask, torch.stack(path[::-1], dim=1), 0)

    def _check(self, emissions: Tensor, tags: Tensor | None, lengths: Tensor | None) -> Tensor:
        """Check the arguments; return ``lengths`` as a long tensor on the emissions' device."""
        if emissions.dim() != 3 or emissions.shape[2] != self.num_tags:
            raise ValueError(f"CRF: emissions must be [B, T, {self.num_tags}], got shape {tuple(emissions.shape)}")
        batch, steps, _ = emissions.shape
        if steps == 0:
            raise ValueError("CRF: emissions must have at least one time step (lengths may still be 0)")
        if lengths is None:
            lengths = torch.full((batch,), steps, dtype=torch.long, device=emissions.device)
        lengths = torch.as_tensor(lengths)
        if lengths.shape != (batch,) or lengths.dtype not in (
            torch.int64,
            torch.int32,
            torch.int16,
            torch.int8,
            torch.uint8,
        ):
            raise ValueError(
                f"CRF: lengths must be integers of shape ({batch},), got {lengths.dtype} {tuple(lengths.shape)}"
            )
        if batch and (int(lengths.min()) < 0 or int(lengths.max()) > steps):
            raise ValueError(f"CRF: lengths must lie in 0..{steps}, got {int(lengths.min())}..{int(lengths.max())}")
        lengths = lengths.to(emissions.device, torch.long)
        if tags is not None:
            if tags.shape != (batch, steps) or tags.dtype != torch.long:
                raise ValueError(f"CRF: tags must be long [{batch}, {steps}], got {tags.dtype} {tuple(tags.shape)}")
            valid = tags[valid_mask(lengths, steps)]
            if valid.numel() and (int(valid.min()) < 0 or int(valid.max()) >= self.num_tags):
                raise ValueError(f"CRF: tags must lie in 0..{self.num_tags - 1} within each sequence's length")
        return lengths
