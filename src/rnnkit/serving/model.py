"""The model behind the service: loaded once, on onnxruntime where it is installed (torch is then never imported,
so the service starts fast and stays small), with what the service says of it and the checks of a request's texts.
Its task's package answers its own endpoints (``rnnkit.tasks.<name>.serve``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit import tasks
from rnnkit.errors import RnnkitError

SUMMARY_KEYS = ("valid", "test", "best_epoch", "epochs", "seconds", "stopped_early", "options")


class ServedModel:
    """A model as the service uses it, whatever its task (whose package answers its endpoints); ``source`` is the
    directory or file."""

    def __init__(self, model: Any, source: str, info: dict[str, Any]) -> None:
        self.model = model
        self.source = source
        self.task: str = model.task
        self.info = info
        self._torch: Any = None  # the torch pipeline, for inspect, loaded on first use

    @classmethod
    def load(cls, path: str | Path) -> ServedModel:
        """A model directory or an exported ONNX file, read and checked; onnxruntime runs it when installed, its
        threads sleeping between calls (a server idles between requests: see :mod:`rnnkit.onnxsessions`)."""
        from rnnkit.exported import is_exported, load_exported
        from rnnkit.onnxsessions import spin_between_calls
        from rnnkit.runtime import onnxruntime_available

        spin_between_calls(False)
        path = str(path)
        if is_exported(path):
            model = load_exported(path)
            return cls(model, path, {"task": model.task, "labels": _labels(model), "engine": "onnxruntime"})
        from rnnkit.modeldir import read_model_dir

        saved = read_model_dir(path)
        if onnxruntime_available():
            model, engine = tasks.get(saved.task).onnx_model(saved, path), "onnxruntime"  # read and checked once
        else:
            from rnnkit.loading import load

            model, engine = load(path, engine="torch"), "torch"
        training = saved.training or {}
        info = {
            "task": saved.task,
            "labels": saved.labels,
            "config": saved.config.to_dict(),
            "tokenizer": saved.tokenizer.to_dict() if saved.tokenizer is not None else None,
            "trained_with": json.loads((Path(path) / "config.json").read_text(encoding="utf-8")).get("rnnkit_version"),
            "training": {k: training[k] for k in SUMMARY_KEYS if k in training},
            "engine": engine,
        }
        return cls(model, path, info)

    @property
    def title(self) -> str:
        return tasks.get(self.task).title

    def describe(self) -> dict[str, Any]:
        """What ``GET /model`` answers: the task, labels, configuration, versions, training figures."""
        from rnnkit import __version__

        task = tasks.get(self.task)
        return {
            **self.info,
            "title": task.title,
            "source": Path(self.source).name,
            "rnnkit": __version__,
            "endpoints": self.endpoints,
            "page": task.page,  # what the page at / shows for this task
        }

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The paths of its task's endpoints."""
        return tasks.get(self.task).endpoints()

    # --------------------------------------------------------------------------------------------- inspect
    def inspect(self, text: str) -> str:
        """The page of ``rnnkit inspect`` for ``text``; needs torch and the model directory, loaded on first use."""
        if self._torch is None:
            if not Path(self.source).is_dir():
                raise InspectUnavailable("inspect needs the model directory: this service runs an exported file")
            try:
                from rnnkit.loading import load
            except ImportError:
                raise InspectUnavailable("inspect needs torch, which is not installed here") from None
            self._torch = load(self.source, engine="torch")
        return self._torch.inspect(text).html()


class InspectUnavailable(RnnkitError):
    """Inspect cannot run in this service (no torch, or an exported file): the page says so."""


def _labels(model: Any) -> list[str] | None:
    return list(model.labels) if getattr(model, "labels", None) is not None else None


def check_texts(texts: Sequence[Any], max_texts: int, max_chars: int) -> list[str]:
    """The texts of a request, or an ``RnnkitError`` naming the first problem."""
    if not isinstance(texts, list):
        raise RnnkitError(f"texts must be a list of strings, got {type(texts).__name__}")
    if not texts:
        raise RnnkitError("texts is empty: give at least one text")
    if len(texts) > max_texts:
        raise RnnkitError(f"{len(texts)} texts in one request; at most {max_texts}: send them in several requests")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise RnnkitError(f"texts[{i}] must be a string, got {type(text).__name__}")
        if not text.strip():
            raise RnnkitError(f"texts[{i}] is empty: give it some text")
        if len(text) > max_chars:
            raise RnnkitError(f"texts[{i}] has {len(text)} characters; at most {max_chars}")
    return texts
