"""``TranslationNetwork``: the shared body as the encoder, and a recurrent decoder that attends to it.

For a source ``x_1 .. x_S`` and a translation ``y_1 .. y_T`` (``y_0`` = ``<s>``, ``y_T`` = ``</s>``)::

    m_1 .. m_S, finals = BiRNN(E_s[x_1] .. E_s[x_S])      the body: memory [S, F], exact on each length
    s_0 = tanh(W_b [final forward ; final backward] + b)   the bridge: every decoder layer's first state
    h_t, s_t = RNN([E_t[y_{t-1}] ; o_{t-1}], s_{t-1})      o_0 = 0; without input feeding, E_t[y_{t-1}] alone
    a_t, c_t = attention(h_t, m)                           weights over the source, context (rnnkit...attention)
    o_t = tanh(W_c [c_t ; h_t])                            the attentional vector [O]
    p(y_t | y_<t, x) = softmax(W_o o_t + b_o)              W_o is E_t itself when tied (Press & Wolf 2017)

Input feeding (Luong et al. 2015, as OpenNMT does it) gives the decoder the previous step's attentional vector, so it
knows what it has already attended to; it makes the decoder run step by step. Without it the decoder's recurrence
runs over all target steps in one call of torch's fused kernel and attention reads every step at once, which is
faster to train. Either way :meth:`TranslationNetwork.step` runs one target step with the very operations of the
teacher-forced pass (tests hold the two equal), which is how translations are decoded and what the ONNX
decoder-step graph computes.

The encoder's weights are named as the shared body names them (``embedding.weight``, ``encoder.*``), so a language
model's body loads into it by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.models.body import RecurrentBody
from rnnkit.nn import Dropout, Recurrent
from rnnkit.tasks.translate.attention import ATTENTION_CLASSES, attend
from rnnkit.tasks.translate.config import TranslatorConfig
from rnnkit.tasks.translate.pieces import PAD_ID

RecurrentState = Tensor | tuple[Tensor, Tensor]  # h [L, B, H], or (h, c) for an LSTM


@dataclass
class Encoded:
    """What the decoder reads of a batch of sources: ``memory`` ``[B, S, F]``, its ``keys`` ``[B, S, A]``
    (the attention's memory-only part), ``mask`` ``[B, S]`` (True on real tokens) and the decoder's first
    ``state``."""

    memory: Tensor
    keys: Tensor
    mask: Tensor
    state: RecurrentState


@dataclass
class DecoderState:
    """Where the decoder is after a step: its recurrent ``state`` and the attentional vector ``feed`` ``[B, O]``
    that input feeding gives the next step (zeros before the first)."""

    state: RecurrentState
    feed: Tensor


class TranslationNetwork(RecurrentBody):
    """``(source [B, S], lengths [B], target_inputs [B, T])`` -> the next target token's scores ``[B, T, V]``.

    ``target_inputs`` starts with ``<s>`` and is padded with 0; scores at padding positions mean nothing (the loss
    reads the positions it is given, ``keep``). ``noise`` ``[B, S, E]``, if given, is added to the source
    embeddings (adversarial training, as for every body).
    """

    def __init__(self, config: TranslatorConfig) -> None:
        c = config
        super().__init__(
            vocab_size=c.source_vocab_size,
            embedding_dim=c.embedding_dim,
            cell=c.cell,
            hidden_size=c.encoder_hidden_size,
            num_layers=c.encoder_layers,
            bidirectional=c.bidirectional,
            dropout=c.dropout,
            backend=c.backend,
        )
        self.config = config
        self.dropout = Dropout(c.dropout)
        H = c.decoder_hidden_size  # noqa: N806 (the docstring's names)
        self.bridge = nn.Linear(c.memory_size, c.decoder_layers * H * c.state_parts)
        self.target_embedding = nn.Embedding(c.target_vocab_size, c.embedding_dim, padding_idx=PAD_ID)
        self.decoder = Recurrent(
            c.cell,
            c.decoder_input_size,
            H,
            num_layers=c.decoder_layers,
            dropout=c.dropout if c.decoder_layers > 1 else 0.0,
            backend=c.backend,
        )
        self.attention = ATTENTION_CLASSES[c.attention](H, c.memory_size)
        self.combine = nn.Linear(c.memory_size + H, c.attentional_size, bias=False)
        self.output = nn.Linear(c.attentional_size, c.target_vocab_size)
        if c.tie_embeddings:
            del self.output.weight  # the target embedding is the output matrix: held once, by the embedding
            self.output.register_parameter("weight", None)
        # Both embeddings keep torch's N(0, 1) rows. Tied to the output layer, rows in +-0.1 (the language model's
        # start) made every logit near 0, so the first steps' push of all the tokens not yet seen (byte pieces,
        # rare pieces) down at once saturated the attentional vector's tanh, and the decoder stayed a unigram model
        # (600 Tatoeba pairs: training loss stuck at the unigram entropy, 4.03, while N(0, 1) reached 2.64 in the
        # same 8 epochs; N(0, 1/E) 3.72).
        with torch.no_grad():
            self.output.bias.zero_()

    # ---------------------------------------------------------------------------------------------- encoder
    def encode(self, source: Tensor, lengths: Tensor, noise: Tensor | None = None) -> Encoded:
        """Read a batch of sources ``[B, S]`` (padded with 0) of ``lengths`` ``[B]``."""
        c = self.config
        x = self.embed(source, noise)  # (B, S, E)
        memory, final = self.encoder(self.dropout(x), lengths)  # (B, S, F); h_n (L*D, B, He)
        h = final[0] if isinstance(final, tuple) else final
        top = h[-c.directions :].transpose(0, 1).reshape(len(source), c.memory_size)  # (B, F): both directions
        first = torch.tanh(self.bridge(top))  # (B, parts * L * H)
        first = first.view(len(source), c.state_parts, c.decoder_layers, c.decoder_hidden_size)
        first = first.permute(1, 2, 0, 3)  # (parts, L, B, H)
        state = (first[0].contiguous(), first[1].contiguous()) if c.cell == "lstm" else first[0].contiguous()
        steps = source.shape[1]
        mask = torch.arange(steps, device=source.device)[None, :] < lengths.to(source.device)[:, None]  # (B, S)
        return Encoded(memory, self.attention.keys(memory), mask, state)

    # ---------------------------------------------------------------------------------------------- decoder
    def start(self, encoded: Encoded) -> DecoderState:
        """The decoder's state before its first step."""
        batch = encoded.memory.shape[0]
        feed = encoded.memory.new_zeros(batch, self.config.attentional_size)
        return DecoderState(encoded.state, feed)

    def attentional(self, outputs: Tensor, encoded: Encoded) -> tuple[Tensor, Tensor]:
        """The attentional vectors ``[B, T, O]`` of the decoder's ``outputs`` ``[B, T, H]`` and the attention
        weights ``[B, T, S]``."""
        weights, context = attend(self.attention.scores(outputs, encoded.keys), encoded.mask, encoded.memory)
        return torch.tanh(self.combine(torch.cat([context, outputs], dim=2))), weights

    def decode(self, encoded: Encoded, target_inputs: Tensor) -> Tensor:
        """Teacher forcing: the attentional vectors ``[B, T, O]`` (after dropout) for ``target_inputs`` ``[B, T]``."""
        y = self.dropout(self.target_embedding(target_inputs))  # (B, T, E)
        if not self.config.input_feeding:
            outputs, _ = self.decoder(y, None, encoded.state)  # (B, T, H): one fused call over every step
            return self.dropout(self.attentional(outputs, encoded)[0])
        at = self.start(encoded)
        vectors = []
        for t in range(y.shape[1]):
            at, _ = self._advance(y[:, t : t + 1], at, encoded)
            vectors.append(at.feed)
        return torch.stack(vectors, dim=1)  # (B, T, O)

    def _advance(self, y: Tensor, at: DecoderState, encoded: Encoded) -> tuple[DecoderState, Tensor]:
        """One target step from the embedded inputs ``y`` ``[B, 1, E]``: the new state (whose ``feed`` is the
        attentional vector after dropout) and the attention weights ``[B, S]``."""
        x = torch.cat([y, at.feed[:, None, :]], dim=2) if self.config.input_feeding else y  # (B, 1, E [+ O])
        outputs, state = self.decoder(x, None, at.state)  # (B, 1, H)
        vector, weights = self.attentional(outputs, encoded)  # (B, 1, O), (B, 1, S)
        return DecoderState(state, self.dropout(vector[:, 0])), weights[:, 0]

    def logits(self, vectors: Tensor) -> Tensor:
        """Scores of every target token ``[..., V]`` from attentional vectors ``[..., O]``."""
        weight = self.target_embedding.weight if self.output.weight is None else self.output.weight
        return F.linear(vectors, weight, self.output.bias)

    def forward(
        self,
        source: Tensor,
        lengths: Tensor,
        target_inputs: Tensor,
        noise: Tensor | None = None,
        keep: Tensor | None = None,
    ) -> Tensor:
        """The scores ``[B, T, V]`` of each next target token; with ``keep`` ``[B, T]`` (bool), only those positions'
        ``[N, V]``: the output layer is most of the work, and padding needs none of it."""
        vectors = self.decode(self.encode(source, lengths, noise), target_inputs)  # (B, T, O)
        return self.logits(vectors if keep is None else vectors[keep])

    def step(self, tokens: Tensor, at: DecoderState, encoded: Encoded) -> tuple[Tensor, DecoderState, Tensor]:
        """One decoding step: the previous tokens ``[B]`` -> log-probabilities of the next ``[B, V]``, the new state,
        and the attention weights ``[B, S]``."""
        state, weights = self._advance(self.target_embedding(tokens)[:, None, :], at, encoded)
        return torch.log_softmax(self.logits(state.feed), dim=1), state, weights
