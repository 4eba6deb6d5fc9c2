from pathlib import Path

import pytest

from rnnkit.data import encode_texts, read_examples
from rnnkit.text import Vocab, WordTokenizer

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(scope="session")
def small_task():
    """600 TREC questions to train on and the rest of the sample to validate on: (train, valid, labels, vocab size)."""
    examples = read_examples(DATA / "trec_train.csv")
    labels = sorted(set(examples.labels))
    tokenize = WordTokenizer()
    vocab = Vocab.build(tokenize(t) for t in examples.texts[:600])
    index = [labels.index(label) for label in examples.labels]
    train = encode_texts(examples.texts[:600], tokenize, vocab, labels=index[:600])
    valid = encode_texts(examples.texts[600:], tokenize, vocab, labels=index[600:])
    return train, valid, labels, len(vocab)
