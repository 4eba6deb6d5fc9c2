"""Layer 3: reading labelled text, splitting it, and turning it into batches.

Reading and splitting need no torch (prediction and evaluation on onnxruntime read files without it); the
batching half loads torch on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from rnnkit.data.readers import FORMATS, Examples, read_class_names, read_examples
from rnnkit.data.split import stratified_split

_BATCHING = ("BucketBatchSampler", "EncodedTexts", "collate", "encode_texts")
__all__ = [
    "FORMATS",
    "BucketBatchSampler",
    "EncodedTexts",
    "Examples",
    "collate",
    "encode_texts",
    "read_class_names",
    "read_examples",
    "stratified_split",
]

if TYPE_CHECKING:
    from rnnkit.data.batching import BucketBatchSampler, EncodedTexts, collate, encode_texts


def __getattr__(name: str) -> Any:
    if name in _BATCHING:
        return getattr(import_module("rnnkit.data.batching"), name)
    raise AttributeError(f"module 'rnnkit.data' has no attribute {name!r}")
