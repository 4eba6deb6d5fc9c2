"""Ensemble members trained several at a time, in processes of their own, are the networks trained in turn."""

import torch

from rnnkit.tasks import build as build_model
from rnnkit.tasks.classify.config import ClassifierConfig
from rnnkit.tasks.classify.members import MemberRun, fit_members
from rnnkit.tasks.classify.network import members_of
from rnnkit.training import TrainConfig


def test_members_at_once_equal_members_in_turn(small_task, tmp_path, one_thread):
    train, valid, labels, vocab_size = small_task
    config = ClassifierConfig(vocab_size=vocab_size, num_classes=len(labels), hidden_size=8, embedding_dim=8, members=2)
    trained = {}
    for jobs in (1, 2):
        torch.manual_seed(0)
        model = build_model(config)
        runs = [MemberRun(TrainConfig(epochs=2, seed=s), tmp_path / f"{jobs}-{s}") for s in (0, 1)]
        for run in runs:
            run.run_dir.mkdir()
        results = fit_members(members_of(model), runs, train, valid, labels, jobs=jobs, progress=False)
        trained[jobs] = (model.state_dict(), [r.history for r in results])
    for name, tensor in trained[1][0].items():
        assert torch.equal(tensor, trained[2][0][name]), name
    strip = [
        [{k: v for k, v in r.items() if k not in ("seconds", "tokens_per_second")} for r in h] for h in trained[1][1]
    ]
    again = [
        [{k: v for k, v in r.items() if k not in ("seconds", "tokens_per_second")} for r in h] for h in trained[2][1]
    ]
    assert strip == again
    assert not torch.equal(trained[1][0]["members.0.output.weight"], trained[1][0]["members.1.output.weight"])
