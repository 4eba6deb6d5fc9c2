"""From running text to a trained, saved language model: the text read as one stream of characters or words (several
files in order), its tail held out for validation (as nanoGPT and PyTorch's example cut theirs), the vocabulary,
the network, and the one training loop over parallel streams read in windows."""

from __future__ import annotations

from pathlib import Path

import torch

from rnnkit.data.corpus import corpus_tokens, read_corpus
from rnnkit.errors import DataError, RnnkitError
from rnnkit.options import TrainOptions
from rnnkit.rundir import data_name
from rnnkit.tasks.lm.config import LanguageModelConfig
from rnnkit.tasks.lm.network import LanguageModel
from rnnkit.tasks.lm.objective import LanguageModelTask
from rnnkit.tasks.lm.pipeline import LanguageModelPipeline
from rnnkit.text import CharTokenizer, Vocab, WordTokenizer
from rnnkit.training.distributed import replicas_from_environment
from rnnkit.training.run import finish, loop_config, make_run_dir, say, train_network
from rnnkit.training.trainer import seed_everything


def train(data: str | Path | list[str | Path] | None, opts: TrainOptions) -> LanguageModelPipeline:
    """:func:`rnnkit.train` for ``task="lm"``: a language model on running text, one file or several read in order."""
    if data is None or (isinstance(data, list | tuple) and not data):
        raise RnnkitError("a language model learns from text: rnnkit train corpus.txt --task lm")
    paths = [Path(p) for p in data] if isinstance(data, list | tuple) else [Path(data)]
    characters = opts.tokenizer == "char"
    tokenizer = (
        CharTokenizer(lowercase=opts.lowercase, keep_whitespace=True)
        if characters
        else WordTokenizer(lowercase=opts.lowercase)
    )
    unit = "characters" if characters else "tokens"
    tokens = corpus_tokens(read_corpus(paths), tokenizer)
    if opts.valid is not None:
        train_tokens, valid_tokens = tokens, corpus_tokens(read_corpus(opts.valid), tokenizer)
        held_out = f"validation: {len(valid_tokens):,} {unit} of {opts.valid}"
    else:  # the tail of the text, as nanoGPT and the PyTorch example cut theirs: no sentence split in two twice
        cut = round(len(tokens) * (1 - opts.valid_split))
        train_tokens, valid_tokens = tokens[:cut], tokens[cut:] if opts.valid_split > 0 else []
        held_out = f"validation: the last {len(valid_tokens):,} {unit}" if valid_tokens else "no validation"
    if len(train_tokens) < 2 * opts.batch_size or (valid_tokens and len(valid_tokens) < 2):
        raise DataError(
            f"{paths[0]}: {len(tokens):,} {unit} is too little text for --batch-size {opts.batch_size}; "
            f"give more text or a smaller --batch-size"
        )
    vocab = Vocab.build([train_tokens], min_freq=opts.min_freq, max_size=opts.max_vocab)
    say(
        f"read {len(tokens):,} {unit} of {', '.join(map(str, paths))} ({len(vocab) - 2:,} distinct); {held_out}",
        quiet=opts.quiet,
    )
    train_ids = torch.tensor(vocab.encode(train_tokens), dtype=torch.long)
    valid_ids = torch.tensor(vocab.encode(valid_tokens), dtype=torch.long) if valid_tokens else None
    try:
        config = LanguageModelConfig(
            vocab_size=len(vocab),
            cell=opts.cell,
            embedding_dim=opts.embedding_dim,
            hidden_size=opts.hidden,
            num_layers=opts.layers,
            dropout=opts.dropout,
            weight_drop=opts.weight_drop,
            tie_weights=opts.tie_weights,
            backend=opts.backend,
            subwords=opts.subwords,
        )
    except ValueError as e:
        raise RnnkitError(str(e)) from None
    train_config = loop_config(opts)
    seed_everything(opts.seed)
    model = LanguageModel(config)
    model.spell(vocab.tokens)  # its vocabulary's n-grams, where it reads sub-words
    replicas = replicas_from_environment()
    rank = {"rank": replicas.rank, "world": replicas.world} if replicas else {}
    objective = LanguageModelTask(train_ids, valid_ids, opts.batch_size, opts.window, characters, **rank)

    run_dir = make_run_dir(opts, data_name(paths[0]), model, train_config, replicas)
    say(f"training a language model -> {run_dir}", quiet=opts.quiet)
    identity = [list(map(str, paths)), vocab.tokens, len(train_ids)]  # with the options: what a checkpoint must match
    record = train_network(model, objective, train_config, opts, run_dir, identity)
    training = {
        "data": [str(p) for p in paths],
        "train_tokens": len(train_ids),
        "valid_tokens": 0 if valid_ids is None else len(valid_ids),
        **record,
    }
    pipeline = LanguageModelPipeline(tokenizer, vocab, model, config, training)
    return finish(pipeline, run_dir, opts.test, replicas=replicas)
