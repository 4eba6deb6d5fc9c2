"""The tagger's defaults that depend on the training data's size (in words), filled in when the data is read.

With little data (UD Turkish IMST, 37.5k words; UD English EWT cut to 20k) the defaults chosen on EWT's 205k stopped
while the network still learned, and 30% of the words to tag are unseen, read only from their spelling; more passes
and the words' n-grams beside the character encoder gained 1.7-2 points of test accuracy there (three seeds,
``benchmarks/tag_small.py``; benchmarks/RESULTS.md, "tagging with little data"). From ``SMALL_DATA_WORDS`` up,
EWT's defaults, unchanged.
"""

from __future__ import annotations

from typing import Any

SMALL_DATA_WORDS = 100_000
SMALL_DATA = {"epochs": 50, "subwords": 10_000}
LARGE_DATA = {"epochs": 15, "subwords": 0}


def sized_defaults(words: int) -> dict[str, Any]:
    """The size-dependent defaults for a training file of ``words`` words."""
    return dict(SMALL_DATA if words < SMALL_DATA_WORDS else LARGE_DATA)


def sized(name: str) -> str:
    """What the help says of a size-dependent default."""
    return f"{SMALL_DATA[name]:,} below {SMALL_DATA_WORDS:,} training words, else {LARGE_DATA[name]:,}"
