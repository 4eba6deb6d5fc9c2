"""Tiny trained models for the service's tests, trained once per session: a classifier, a tagger, a language model."""

import warnings
from pathlib import Path

import pytest
import torch

import rnnkit
from rnnkit.errors import RnnkitWarning

DATA = Path(__file__).parents[1] / "data"
TINY = dict(hidden=8, embedding_dim=8, epochs=1, quiet=True)


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory) -> dict[str, Path]:
    """Model directories by task; the networks are tiny: these tests are about the service, not accuracy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("served")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RnnkitWarning)  # one epoch learns little, and says so
        rnnkit.train(DATA / "trec_train.csv", out=root / "classify", ensemble=1, adversarial=0, **TINY)
        rnnkit.train(DATA / "ewt_train_sample.conllu", out=root / "tag", char_hidden=4, layers=1, **TINY)
        rnnkit.train(
            DATA / "shakespeare_sample.txt", task="lm", out=root / "lm", batch_size=8, window=32, layers=1, **TINY
        )
    torch.set_num_threads(threads)
    return {task: root / task for task in ("classify", "tag", "lm")}
