import numpy as np
import torch

from rnnkit.data import BucketBatchSampler, collate, encode_texts, stratified_split
from rnnkit.text import PAD_ID, UNK_ID, Vocab, WordTokenizer


def test_encode_and_collate_pad_exactly():
    tokenize = WordTokenizer()
    texts = ["a b c", "b", "c a b a c", ""]
    vocab = Vocab.build(tokenize(t) for t in texts)
    data = encode_texts(texts, tokenize, vocab, max_length=4, labels=[0, 1, 0, 1])
    assert data.lengths.tolist() == [3, 1, 4, 1]  # truncated to 4; the empty text becomes one <unk>
    ids, lengths, labels, spellings = collate(data, [2, 1, 3])
    assert ids.shape == (3, 4) and spellings is None
    assert ids[0].tolist() == vocab.encode(["c", "a", "b", "a"])
    assert ids[1].tolist() == [vocab.index["b"], PAD_ID, PAD_ID, PAD_ID]
    assert ids[2].tolist() == [UNK_ID, PAD_ID, PAD_ID, PAD_ID]
    assert lengths.tolist() == [4, 1, 1] and labels.tolist() == [0, 1, 1]


def test_with_subwords_each_position_carries_its_words_ngrams_and_padding_none():
    from rnnkit.text.subwords import Subwords

    tokenize, subwords = WordTokenizer(), Subwords(1000)
    texts = ["a cat sat", "zqxj", "cat"]
    vocab = Vocab.build([["cat"]])
    data = encode_texts(texts, tokenize, vocab, subwords=subwords)
    ids, lengths, _, spellings = collate(data, [0, 1, 2])
    assert ids[1].tolist() == [UNK_ID, PAD_ID, PAD_ID]  # unseen, yet spelled:
    for b, text in enumerate(texts):
        for t in range(ids.shape[1]):
            row = spellings.ngrams[spellings.forms[b, t]]
            expected = subwords(tokenize(text)[t]) if t < lengths[b] else []
            assert row[row > 0].tolist() == expected


def test_bucket_sampler_covers_everything_once_and_buckets_lengths():
    rng = np.random.default_rng(0)
    lengths = torch.as_tensor(rng.integers(1, 120, size=1000))
    sampler = BucketBatchSampler(lengths, batch_size=32, seed=3, pool_batches=10)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))

    def padding_ratio(batches):
        return sum(len(b) * int(lengths[b].max()) for b in batches) / int(lengths.sum())

    random_batches = np.array_split(rng.permutation(1000), len(batches))
    assert padding_ratio(random_batches) > 1.6  # random batches pad to nearly twice the work
    assert padding_ratio(batches) < 1.15  # bucketed ones waste little
    # seeded: the same epoch repeats, another epoch differs
    assert all(np.array_equal(a, b) for a, b in zip(batches, list(sampler), strict=True))
    sampler.set_epoch(1)
    assert not all(np.array_equal(a, b) for a, b in zip(batches, list(sampler), strict=True))


def test_unshuffled_sampler_is_sorted():
    lengths = torch.tensor([5, 1, 3, 2])
    assert np.concatenate(list(BucketBatchSampler(lengths, 3, shuffle=False))).tolist() == [1, 3, 2, 0]


def test_stratified_split_keeps_class_shares():
    labels = ["a"] * 90 + ["b"] * 10 + ["c"]
    train, valid = stratified_split(labels, 0.1, seed=0)
    assert sorted(train + valid) == list(range(101))
    assert [labels[i] for i in valid].count("a") == 9 and [labels[i] for i in valid].count("b") == 1
    assert 100 in train  # a class of one stays in training
    assert stratified_split(labels, 0.1, seed=0) == (train, valid)
    assert stratified_split(labels, 0.1, seed=1) != (train, valid)
