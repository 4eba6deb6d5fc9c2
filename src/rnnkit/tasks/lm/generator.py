"""A trained language model's use side: a prompt in, text out token by token; and its loss on a text file.

:class:`Generator` is what every way of running a language model shares: the prompt encoded as in training, the
sampling loop of :mod:`rnnkit.tasks.lm.sampling` (the prompt read once, then the state carried one token at a
time), text put back together from tokens, and evaluation in nats per token. Subclasses say only how one step runs:
:class:`OnnxGenerator` on onnxruntime (no torch), and :class:`rnnkit.tasks.lm.pipeline.LanguageModelPipeline` on
torch or onnxruntime.

Perplexity counts every token of the text, ``<unk>`` included: a word model predicts "some word outside my
vocabulary" as one token, as Zaremba et al. (2014) and PyTorch's word-language-model example count it, so word
perplexities are comparable only between models with the same vocabulary. A character model's vocabulary holds every
character of its training text, so only characters never seen there become ``<unk>``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.corpus import EOL, corpus_tokens, read_corpus
from rnnkit.errors import DataError, RnnkitError
from rnnkit.metrics import language_model_figures, text_loss
from rnnkit.onnxsessions import session_options
from rnnkit.tasks.lm.config import LanguageModelConfig
from rnnkit.tasks.lm.sampling import generate, start_token_id
from rnnkit.text import UNK_ID, Tokenizer, Vocab

State = Any  # h [L, B, H], or (h, c) for LSTM, as NumPy arrays


class Generator:
    """A trained language model: ``generate`` and ``stream`` write text; ``evaluate`` scores a text file."""

    task = "lm"

    def __init__(self, tokenizer: Tokenizer, vocab: Vocab, config: LanguageModelConfig) -> None:
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.config = config

    @property
    def characters(self) -> bool:
        return self.tokenizer.kind == "char"

    def step(self, ids: np.ndarray, state: State | None) -> tuple[np.ndarray, State]:
        """The next token's scores ``[B, T, V]`` after each of ``ids`` ``[B, T]`` (int64), and the state after the
        last; ``state`` ``None`` is the start of a text."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------ writing
    def encode_prompt(self, prompt: str) -> list[int]:
        """The prompt's token ids; a character the model never saw is refused, naming it."""
        tokens = corpus_tokens(prompt, self.tokenizer)
        if not self.characters and tokens and not prompt.endswith(("\n", "\r")):
            tokens = tokens[:-1]  # the prompt's last line goes on: no end of line after it
        ids = self.vocab.encode(tokens)
        if self.characters:
            unseen = sorted({t for t, i in zip(tokens, ids, strict=True) if i == UNK_ID})
            if unseen:
                shown = ", ".join(repr(t) for t in unseen[:10])
                raise RnnkitError(f"the prompt has characters the model never saw in training: {shown}; remove them")
        return ids

    def stream(
        self,
        prompt: str = "",
        length: int = 200,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
    ) -> Iterator[str]:
        """Yield the text that follows ``prompt``, piece by piece as each token is drawn (``length`` tokens).

        Sampling at ``temperature`` from the ``top_k`` most likely tokens and the smallest set holding ``top_p`` of
        the probability (``top_k=1``: always the most likely); the same ``seed`` gives the same text. An empty
        prompt starts at the beginning of a line.
        """
        ids = generate(
            self.step,
            None,
            self.encode_prompt(prompt),
            length,
            np.random.default_rng(seed),
            start_id=start_token_id(self.vocab.tokens),
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
        )
        at_line_start = not prompt or prompt.endswith("\n")
        for token_id in ids:  # one at a time: each piece is written as soon as it is drawn
            token = self.vocab.tokens[token_id]
            if self.characters:
                yield token
            elif token == EOL:
                at_line_start = True
                yield "\n"
            else:
                yield token if at_line_start else " " + token
                at_line_start = False

    def generate(self, prompt: str = "", length: int = 200, **sampling: Any) -> str:
        """The prompt and the ``length`` tokens that follow it, as one string (see :meth:`stream`)."""
        return prompt + "".join(self.stream(prompt, length, **sampling))

    # --------------------------------------------------------------------------------- evaluation
    def evaluate(self, data: str | Path | Sequence[str | Path]) -> dict[str, Any]:
        """Loss (nats per token), perplexity and, for a character model, bits per character on a text file."""
        source = ", ".join(map(str, data)) if isinstance(data, list | tuple) else str(data)
        ids = np.array(self.vocab.encode(corpus_tokens(read_corpus(data), self.tokenizer)), dtype=np.int64)
        if len(ids) < 2:
            raise DataError(f"{source}: too short to evaluate a language model on (fewer than two tokens)")
        loss, targets = text_loss(self.step, ids)
        report: dict[str, Any] = language_model_figures(loss, self.characters)
        report |= {"tokens": targets.size, "unknown": int((targets == UNK_ID).sum()), "source": source}
        return report


class OnnxLanguageModelSession:
    """A language model's graph (:func:`rnnkit.onnxgraph.language_model_graph`) in onnxruntime, called as
    ``(ids, state) -> (logits, state)`` with NumPy arrays; ``state`` ``None`` is the start of a text."""

    def __init__(self, config: LanguageModelConfig, session: Any, arrays: dict[str, np.ndarray] | None = None) -> None:
        self.config = config
        self.session = session
        self.arrays = arrays  # weights handed to onnxruntime as they are: they must outlive the session

    @classmethod
    def build(
        cls, config: LanguageModelConfig, weights: dict[str, np.ndarray], ngrams: np.ndarray | None = None
    ) -> OnnxLanguageModelSession:
        """The network of ``config`` with ``weights`` (named as in its ``state_dict``), weights not copied; ``ngrams``:
        its vocabulary's, where it reads sub-words."""
        import onnxruntime

        from rnnkit.tasks.lm.graph import language_model_graph

        options = session_options()
        arrays: dict[str, np.ndarray] = {}
        graph = language_model_graph(config, weights, external=arrays, ngrams=ngrams)
        options.add_external_initializers(
            list(arrays), [onnxruntime.OrtValue.ortvalue_from_numpy(array) for array in arrays.values()]
        )
        session = onnxruntime.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return cls(config, session, arrays)

    def __call__(self, ids: np.ndarray, state: State | None) -> tuple[np.ndarray, State]:
        c = self.config
        if state is None:
            zeros = np.zeros((c.num_layers, len(ids), c.hidden_size), dtype=np.float32)
            state = (zeros, zeros) if c.cell == "lstm" else zeros
        feeds = {"ids": np.ascontiguousarray(ids, dtype=np.int64)}
        if c.cell == "lstm":
            feeds |= {"h0": state[0], "c0": state[1]}
            logits, h, cell = self.session.run(None, feeds)
            return logits, (h, cell)
        feeds["h0"] = state
        logits, h = self.session.run(None, feeds)
        return logits, h


class OnnxGenerator(Generator):
    """A language model run by onnxruntime, from a model directory or an exported file: loads, writes and
    evaluates without importing torch."""

    def __init__(
        self, tokenizer: Tokenizer, vocab: Vocab, config: LanguageModelConfig, session: OnnxLanguageModelSession
    ) -> None:
        super().__init__(tokenizer, vocab, config)
        self.session = session

    def __repr__(self) -> str:
        return f"OnnxGenerator({self.config.cell.upper()} x {self.config.num_layers}, {len(self.vocab)} tokens)"

    def step(self, ids: np.ndarray, state: State | None) -> tuple[np.ndarray, State]:
        return self.session(ids, state)
