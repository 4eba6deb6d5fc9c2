"""Sub-words: deterministic SentencePiece models kept as bytes, text round trips, French spaces, damaged models."""

import pytest

from rnnkit.errors import ModelFileError, RnnkitError
from rnnkit.tasks.translate.data import read_pairs
from rnnkit.tasks.translate.pieces import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Pieces


@pytest.fixture(scope="module")
def french(data_dir=None):
    from conftest import DATA

    return read_pairs(DATA / "tatoeba_eng_fra_train_sample.tsv").targets


def test_training_is_deterministic_and_the_model_is_bytes(french):
    first, second = Pieces.train(french, 500), Pieces.train(french, 500)
    assert isinstance(first.model, bytes) and first.model == second.model and first.sha256 == second.sha256
    assert Pieces.train(french, 500, seed=1).encode(french) is not None  # another seed trains as well
    again = Pieces(first.model)
    assert again.encode(french[:20]) == first.encode(french[:20]) and len(again) == len(first) == 500
    assert [first.processor.id_to_piece(i) for i in (PAD_ID, UNK_ID, BOS_ID, EOS_ID)] == [
        "<pad>",
        "<unk>",
        "<s>",
        "</s>",
    ]


def test_text_round_trips(french):
    pieces = Pieces.train(french, 500)
    ids = pieces.encode(french)
    assert all(all(i > EOS_ID for i in row) for row in ids)
    assert pieces.decode(ids) == [pieces.normalize(text) for text in french]
    # characters never seen in training come back through their bytes, not as <unk>
    unseen = "Ça coûte 5\u00a0€ — 東京 ✓"
    assert UNK_ID not in pieces.encode([unseen])[0]
    assert pieces.decode(pieces.encode([unseen])) == ["Ça coûte 5 € — 東京 ✓"]


def test_french_spaces_become_ordinary_spaces(french):
    pieces = Pieces.train(french, 500)
    narrow, plain = pieces.encode(["Tu viens\u202f? «\u00a0Oui\u00a0»\u2009!", "Tu viens ? « Oui » !"])
    assert narrow == plain
    assert pieces.decode([narrow]) == ["Tu viens ? « Oui » !"]


def test_too_few_pieces_and_damaged_models_are_one_line(french):
    with pytest.raises(RnnkitError, match=r"300 sub-words are too few for this text: it needs at least \d+"):
        Pieces.train(french, 300)
    model = Pieces.train(french, 500).model
    for damaged in (b"", model[:100], b"\x00" * 50):
        with pytest.raises(ModelFileError, match="not a readable SentencePiece model|special ids"):
            Pieces(damaged, "target.spm")
