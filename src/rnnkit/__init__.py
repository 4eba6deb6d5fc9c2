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
    "TrainOptions": "rnnkit.api",
    "load": "rnnkit.runtime",
    "Pipeline": "rnnkit.pipeline",
    "LanguageModelPipeline": "rnnkit.pipeline",
    "TaggerPipeline": "rnnkit.pipeline",
}
__all__ = ["LanguageModelPipeline", "Pipeline", "TaggerPipeline", "TrainOptions", "__version__", "load", "train"]

if TYPE_CHECKING:
    from rnnkit.api import train
    from rnnkit.options import TrainOptions
    from rnnkit.pipeline import LanguageModelPipeline, Pipeline, TaggerPipeline
    from rnnkit.runtime import load


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")
