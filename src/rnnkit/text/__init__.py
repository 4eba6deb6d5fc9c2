"""Layer 2: tokenizers and the vocabulary."""

from rnnkit.text.encoding import encode_ids, length_batches, pad_batch
from rnnkit.text.tokenizers import (
    TOKENIZERS,
    CharTokenizer,
    Tokenizer,
    TreebankTokenizer,
    WordTokenizer,
    token_spans,
    tokenizer_from_dict,
)
from rnnkit.text.vocab import PAD, PAD_ID, UNK, UNK_ID, Vocab

__all__ = [
    "PAD",
    "PAD_ID",
    "TOKENIZERS",
    "UNK",
    "UNK_ID",
    "CharTokenizer",
    "Tokenizer",
    "TreebankTokenizer",
    "Vocab",
    "WordTokenizer",
    "encode_ids",
    "length_batches",
    "pad_batch",
    "token_spans",
    "tokenizer_from_dict",
]
