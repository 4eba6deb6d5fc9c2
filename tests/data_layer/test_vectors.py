import gzip

import pytest
import torch

import rnnkit
from rnnkit.data.vectors import read_vectors
from rnnkit.errors import DataError
from rnnkit.text import Vocab

VOCAB = Vocab(["<pad>", "<unk>", "who", "what", "rain"])


def test_word2vec_header_glove_and_gzip(tmp_path):
    text = "who 1 2 3\nwhat 4 5 6\nzebra 7 8 9\nwho 0 0 0\n"
    for name, content in (("glove.txt", text), ("w2v.vec", "4 3\n" + text)):
        path = tmp_path / name
        path.write_text(content)
        vectors, found = read_vectors(path, VOCAB, 3)
        assert found.tolist() == [False, False, True, True, False]
        assert vectors[2].tolist() == [1, 2, 3]  # the first line for a word wins
        assert vectors[3].tolist() == [4, 5, 6]
    packed = tmp_path / "v.txt.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    assert read_vectors(packed, VOCAB, 3)[1].sum() == 2


def test_bad_vector_files(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("who 1 2 3\nwhat 4 5\n")
    with pytest.raises(DataError, match="line 2: 2 numbers where 3 were expected"):
        read_vectors(path, VOCAB, 3)
    path.write_text("10 50\nwho 1 2 3\n")
    with pytest.raises(DataError, match="vectors have 50 dimensions; pass --embedding-dim 50"):
        read_vectors(path, VOCAB, 3)
    path.write_text("who 1 x 3\n")
    with pytest.raises(DataError, match="line 1: a value is not a number"):
        read_vectors(path, VOCAB, 3)
    with pytest.raises(DataError, match="no such vectors file"):
        read_vectors(tmp_path / "none.txt", VOCAB, 3)


def test_training_starts_from_the_vectors(tmp_path, data_dir):
    path = tmp_path / "vectors.txt"
    path.write_text("who " + " ".join(["0.5"] * 8) + "\nwhat " + " ".join(["-0.25"] * 8) + "\n")
    pipeline = rnnkit.train(
        data_dir / "trec_train.csv",
        vectors=str(path),
        embedding_dim=8,
        hidden=8,
        epochs=1,
        lr=1e-9,
        ensemble=2,
        out=str(tmp_path / "run"),
        quiet=True,
    )
    for member in pipeline.model.members:  # every member starts from the vectors
        weight = member.embedding.weight
        torch.testing.assert_close(weight[pipeline.vocab.index["who"]], torch.full((8,), 0.5), atol=1e-6, rtol=0)
        torch.testing.assert_close(weight[pipeline.vocab.index["what"]], torch.full((8,), -0.25), atol=1e-6, rtol=0)
