"""Layer 3: reading labelled text, splitting it, and turning it into batches."""

from rnnkit.data.batching import BucketBatchSampler, EncodedTexts, collate, encode_texts
from rnnkit.data.readers import FORMATS, Examples, read_class_names, read_examples
from rnnkit.data.split import stratified_split

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
