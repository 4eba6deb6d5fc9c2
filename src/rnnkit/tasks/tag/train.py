"""From a tagged file (CoNLL-U, or a token per line) to a trained, saved tagger: the sentences read and their tags
checked (a test or validation file with a tag the training data lacks is refused before any training), a seeded
validation cut, the word and character vocabularies, the network, and the one training loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.labels import label_order
from rnnkit.data.tagged import TaggedCorpus, read_tagged
from rnnkit.errors import DataError, RnnkitError
from rnnkit.options import TrainOptions
from rnnkit.rundir import data_name
from rnnkit.tasks.tag.config import TaggerConfig
from rnnkit.tasks.tag.network import SequenceTagger
from rnnkit.tasks.tag.objective import TagTask
from rnnkit.tasks.tag.pipeline import TaggerPipeline
from rnnkit.tasks.tag.sizes import sized_defaults
from rnnkit.tasks.tag.tagger import check_tags
from rnnkit.text import TOKENIZERS, Vocab
from rnnkit.text.sentences import encode_sentences, word_key
from rnnkit.text.subwords import Subwords
from rnnkit.training.distributed import replicas_from_environment
from rnnkit.training.run import finish, loop_config, make_run_dir, say, train_network
from rnnkit.training.trainer import seed_everything


def read_data(data: str | Path | None, opts: TrainOptions) -> tuple[TaggedCorpus, list[str]]:
    """The training file and its tags in order (two at least); the defaults that depend on its size in words, where
    not given, filled in (:mod:`rnnkit.tasks.tag.sizes`)."""
    if data is None or isinstance(data, list | tuple):
        raise RnnkitError("a tagger learns from one tagged file: rnnkit train train.conllu --task tag")
    if Path(data).suffix.lower() in (".csv", ".jsonl", ".json"):
        raise DataError(
            f"{data}: a tagger reads tagged sentences (CoNLL-U, or token per line with a blank line between "
            f"sentences), not labelled texts; for a label per text, leave out --task tag"
        )
    corpus = read_tagged(data, tag_column=opts.tag_column)
    tags = label_order({tag for sentence in corpus.tags for tag in sentence})
    if len(tags) < 2:
        raise DataError(f"{data}: every token has the tag {tags[0]!r}; a tagger needs at least two tags")
    say(corpus.summary(), quiet=opts.quiet)
    words = sum(len(tokens) for tokens in corpus.tokens)
    for name, value in sized_defaults(words).items():  # where not given: the defaults for this much data
        if getattr(opts, name) is None:
            setattr(opts, name, value)
    return corpus, tags


def split(data: str | Path, corpus: TaggedCorpus, opts: TrainOptions, checked: Any) -> tuple[list, list]:
    """The training and validation sentences: the ``--valid`` file, or a seeded random cut of the training ones."""
    sentences = corpus.sentences
    if opts.valid:
        return sentences, checked(opts.valid).sentences
    if opts.valid_split <= 0:
        return sentences, []
    order = np.random.default_rng(opts.seed).permutation(len(sentences))
    cut = max(1, round(len(sentences) * opts.valid_split))
    if cut >= len(sentences):
        raise DataError(f"{data}: {len(sentences)} sentences are too few to hold some out for validation")
    held = set(order[:cut].tolist())
    return [s for i, s in enumerate(sentences) if i not in held], [s for i, s in enumerate(sentences) if i in held]


def network_settings(opts: TrainOptions, vocab: Vocab, characters: Vocab | None, tags: list[str]) -> TaggerConfig:
    try:
        return TaggerConfig(
            vocab_size=len(vocab),
            num_tags=len(tags),
            alphabet_size=len(characters) if characters is not None else 0,
            cell=opts.cell,
            embedding_dim=opts.embedding_dim,
            char_hidden_size=opts.char_hidden or TaggerConfig.char_hidden_size,
            hidden_size=opts.hidden,
            num_layers=opts.layers,
            bidirectional=opts.bidirectional,
            dropout=opts.dropout,
            word_dropout=opts.word_dropout,
            lowercase=bool(opts.lowercase),
            crf=bool(opts.crf),
            backend=opts.backend,
            subwords=opts.subwords,
        )
    except ValueError as e:
        raise RnnkitError(str(e)) from None


def train(data: str | Path | None, opts: TrainOptions) -> TaggerPipeline:
    """:func:`rnnkit.train` for ``task="tag"``: a sequence tagger on a CoNLL-U or token-per-line file."""
    corpus, tags = read_data(data, opts)

    def checked(path: str) -> TaggedCorpus:
        other = read_tagged(path, tag_column=opts.tag_column)
        say(other.summary(), quiet=opts.quiet)
        check_tags(other, tags, f"the training data {data}")
        return other

    tag_index = {tag: i for i, tag in enumerate(tags)}
    test = checked(opts.test) if opts.test else None  # refused now, not after the training
    seed_everything(opts.seed)
    train_sentences, valid_sentences = split(data, corpus, opts, checked)
    lowercase = bool(opts.lowercase)
    words = ([word_key(t, lowercase) for t in s.tokens] for s in train_sentences)
    vocab = Vocab.build(words, min_freq=opts.min_freq, max_size=opts.max_vocab)
    characters = Vocab.build([list(t) for s in train_sentences for t in s.tokens]) if opts.char_hidden else None
    subwords = Subwords(opts.subwords) if opts.subwords else None

    def encode(part: list) -> Any:
        return encode_sentences(
            [s.tokens for s in part], vocab, characters, lowercase, [s.tags for s in part], tag_index, subwords
        )

    train_set = encode(train_sentences)
    valid_set = encode(valid_sentences) if valid_sentences else None
    config = network_settings(opts, vocab, characters, tags)
    train_config = loop_config(opts, metric="accuracy")
    model = SequenceTagger(config)
    replicas = replicas_from_environment()
    rank = {"rank": replicas.rank, "world": replicas.world} if replicas else {}
    objective = TagTask(train_set, valid_set, opts.batch_size, opts.seed, **rank)
    run_dir = make_run_dir(opts, data_name(Path(data)), model, train_config, replicas)
    say(
        f"training a tagger on {len(train_set):,} sentences ({len(valid_sentences):,} for validation), "
        f"{len(tags)} tags, {len(vocab):,} words -> {run_dir}",
        quiet=opts.quiet,
    )
    identity = [str(data), tags, vocab.tokens, len(train_set)]
    record = train_network(model, objective, train_config, opts, run_dir, identity)
    training = {
        "data": str(data),
        "tag_column": corpus.tag_column,
        "train_sentences": len(train_set),
        "valid_sentences": len(valid_sentences),
        **record,
    }
    tokenizer = TOKENIZERS[opts.tokenizer](lowercase=False)  # raw text keeps its case: the characters need it
    pipeline = TaggerPipeline(tokenizer, vocab, characters, tags, model, config, training)
    return finish(pipeline, run_dir, test, replicas=replicas)
