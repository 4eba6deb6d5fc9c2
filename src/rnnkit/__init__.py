"""rnnkit: recurrent neural networks for text, exact on variable lengths, fast on a CPU.

import rnnkit
clf = rnnkit.train("train.csv", cell="lstm", bidirectional=True)
clf.predict(["a great film"])
clf.save("runs/model"); rnnkit.load("runs/model")
tagger = rnnkit.train("train.conllu")  # a tagger: a tag for every token
tagger.predict("I don't like it.")
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The public names load on first use, so that `rnnkit --help` does not wait for torch to import.
_PUBLIC = {
    "train": "rnnkit.api",
    "TrainOptions": "rnnkit.options",
    "load": "rnnkit.loading",
    "Pipeline": "rnnkit.tasks.classify.pipeline",
    "LanguageModelPipeline": "rnnkit.tasks.lm.pipeline",
    "TaggerPipeline": "rnnkit.tasks.tag.pipeline",
}
__all__ = ["LanguageModelPipeline", "Pipeline", "TaggerPipeline", "TrainOptions", "__version__", "load", "train"]

if TYPE_CHECKING:
    from rnnkit.api import train
    from rnnkit.loading import load
    from rnnkit.options import TrainOptions
    from rnnkit.tasks.classify.pipeline import Pipeline
    from rnnkit.tasks.lm.pipeline import LanguageModelPipeline
    from rnnkit.tasks.tag.pipeline import TaggerPipeline


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")
