"""How ``sst2_train_sample.csv`` and ``sst2_test_sample.csv`` were cut (see PROVENANCE.md). Run from the repository
root, with the shared data sets beside it: ``python tests/data/make_sst2_sample.py [SOURCE_DIR]``.

A seeded random draw as for the other samples here (``random.seed(0)``, shuffle, first N rows), rows kept in the
drawn order, the ``label,text`` columns and the labels (0 = negative, 1 = positive) as in the source.
"""

import csv
import random
import sys
from pathlib import Path

CUTS = {"train.csv": ("sst2_train_sample.csv", 2000), "test.csv": ("sst2_test_sample.csv", 400)}

if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/sst2_sentences")
    for name, (sample, rows) in CUTS.items():
        with open(source / name, newline="", encoding="utf-8") as f:
            header, *data = list(csv.reader(f))
        random.seed(0)
        random.shuffle(data)
        with open(Path("tests/data") / sample, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(data[:rows])
