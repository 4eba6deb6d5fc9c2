"""Running text for language models: files -> one string -> tokens -> ``B`` parallel streams -> windows.

A language model reads a corpus as one long stream of tokens and learns to predict each token from the ones
before it. Training cuts the stream the way the PyTorch ``word_language_model`` example does::

    tokens    a b c d e f g h i j k l m n o p q r s t u v w x y z    (26 tokens; batch_size B = 4)

    streams   a b c d e f      [B, N] = [4, 6]: row b is the b-th quarter of the corpus (y z dropped)
              g h i j k l
              m n o p q r
              s t u v w x

    windows   inputs  targets      (window 2: each [B, t]; the targets are the next tokens)
              a b     b c
              g h     h i
              m n     n o
              s t     t u
              then inputs c d / targets d e, ..., then e / f (the last window is shorter)

Row ``b`` of window ``k+1`` continues row ``b`` of window ``k``, so the recurrent state at the end of one window
is the right start for the next (truncated backpropagation through time). That is why the windows come in order
and must never be shuffled.

Reading needs no torch; :func:`batchify` and :func:`windows` take and give torch tensors (torch is imported only
when they run).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rnnkit.data.readers import read_text_file
from rnnkit.errors import DataError
from rnnkit.text import Tokenizer

if TYPE_CHECKING:
    from torch import Tensor

EOL = "<eol>"  # the end of a line, in a word corpus: the word tokenizer can never produce it from text


def read_corpus(paths: str | Path | Sequence[str | Path]) -> str:
    """One or more UTF-8 text files (``.gz`` read through) joined in the order given, as one string.

    The files are joined exactly as they are, with nothing added between them: the corpus is what ``cat`` of
    the files gives, so a text cut into several files (a book in chapters) joins back into the original, and a
    character model sees every character of the files and no others. A file that ends without a line break
    therefore runs straight into the next one; end such files with a line break if they are separate texts.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    if not paths:
        raise DataError("no corpus files given; name at least one text file")
    return "".join(read_text_file(path) for path in paths)


def corpus_tokens(text: str, tokenizer: Tokenizer) -> list[str]:
    """The tokens a language model reads from ``text``.

    A character tokenizer gives its tokens of the whole text (with ``keep_whitespace=True``, every character,
    line breaks included). A word tokenizer drops line breaks with all other whitespace, so each line's tokens
    are followed by :data:`EOL`, and the text the model writes keeps its lines (an empty line is a lone
    :data:`EOL`). Lines are split as :meth:`str.splitlines` splits them; a last line without a line break still
    gets its :data:`EOL`.

    >>> from rnnkit.text import WordTokenizer
    >>> corpus_tokens("Hello, world\\n\\nBye", WordTokenizer())
    ['hello', ',', 'world', '<eol>', '<eol>', 'bye', '<eol>']
    """
    if tokenizer.kind == "char":
        return tokenizer(text)
    tokens: list[str] = []
    for line in text.splitlines():
        tokens += tokenizer(line)
        tokens.append(EOL)
    return tokens


def detokenize(tokens: Iterable[str], kind: str) -> str:
    """Tokens back into text, for output: characters joined as they are; words joined by single spaces, with
    each :data:`EOL` a line break (and no space at either end of a line).

    >>> detokenize(["a", "b", "<eol>", "c"], "word")
    'a b\\nc'
    >>> detokenize(["H", "i", "\\n"], "char")
    'Hi\\n'
    """
    if kind == "char":
        return "".join(tokens)
    if kind != "word":
        raise ValueError(f"kind must be 'char' or 'word', got {kind!r}")
    lines, words = [], []
    for token in tokens:
        if token == EOL:
            lines.append(" ".join(words))
            words = []
        else:
            words.append(token)
    return "\n".join([*lines, " ".join(words)])


def batchify(ids: Tensor, batch_size: int) -> Tensor:
    """Cut the corpus ``ids`` ``[n]`` into ``batch_size`` parallel streams: ``[B, N]``, ``N = n // B``, row ``b``
    holding tokens ``b*N .. (b+1)*N - 1``; the last ``n - B*N`` tokens (fewer than ``B``) are dropped.

    A view of ``ids`` (no copy). Each stream needs two tokens at least: one to read and one to predict.
    """
    import torch

    if not isinstance(ids, torch.Tensor) or ids.dim() != 1 or ids.dtype.is_floating_point or ids.is_complex():
        raise ValueError(f"ids must be a 1-D integer tensor, got {getattr(ids, 'shape', type(ids).__name__)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    steps = len(ids) // batch_size
    if steps < 2:
        raise DataError(
            f"the corpus has {len(ids)} tokens, too few for {batch_size} streams of two tokens or more; "
            f"use a smaller batch size or more text"
        )
    return ids[: batch_size * steps].view(batch_size, steps)  # (B, N)


def windows(streams: Tensor, window: int) -> list[tuple[Tensor, Tensor]]:
    """The streams ``[B, N]`` as consecutive ``(inputs, targets)`` pairs, each ``[B, t]``: ``targets`` are the
    tokens that follow ``inputs`` (the same positions + 1). ``t = window``, except for a shorter last window;
    together the targets cover ``streams[:, 1:]`` once each, in order. Never shuffle them: the state carries on
    from one window to the next.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    if streams.dim() != 2 or streams.shape[1] < 2:
        raise ValueError(f"streams must be [B, N] with N >= 2, got {tuple(streams.shape)}")
    pairs = []
    for start in range(0, streams.shape[1] - 1, window):
        t = min(window, streams.shape[1] - 1 - start)
        pairs.append((streams[:, start : start + t], streams[:, start + 1 : start + 1 + t]))  # (B, t) each
    return pairs
