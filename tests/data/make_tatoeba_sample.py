"""How ``tatoeba_eng_fra_train_sample.tsv`` and ``tatoeba_eng_fra_valid_sample.tsv`` were cut (see PROVENANCE.md).
Run from the repository root, with the shared data sets beside it:
``python tests/data/make_tatoeba_sample.py [SPLIT_DIR]``.

From each split file, the pairs whose English side has at most five words (short enough for a network of seconds to
learn something), drawn as for the other samples here (``random.seed(0)``, shuffle, first N), lines kept byte for
byte in the drawn order.
"""

import random
import sys
from pathlib import Path

CUTS = {"train.tsv": ("tatoeba_eng_fra_train_sample.tsv", 600), "valid.tsv": ("tatoeba_eng_fra_valid_sample.tsv", 150)}

if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/tatoeba_eng_fra/split")
    for name, (sample, rows) in CUTS.items():
        lines = (source / name).read_text(encoding="utf-8").splitlines(keepends=True)
        short = [line for line in lines if len(line.split("\t")[0].split()) <= 5]
        random.seed(0)
        random.shuffle(short)
        (Path("tests/data") / sample).write_text("".join(short[:rows]), encoding="utf-8")
