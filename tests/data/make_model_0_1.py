"""How ``model-0.1/`` was made, with rnnkit 0.1.0 at commit 78ec238 (kept for the record; never rerun it: the
directory stands for the ones users already have). Run from the repository root:
``python tests/data/make_model_0_1.py``."""

import json

import rnnkit
from rnnkit.data import read_examples

if __name__ == "__main__":
    out = "tests/data/model-0.1"
    clf = rnnkit.train(
        "tests/data/trec_train.csv",
        ensemble=2,
        hidden=16,
        embedding_dim=16,
        epochs=2,
        adversarial=0,
        out="/tmp/fx/run",
        progress=False,
    )
    clf.save(out)
    texts = read_examples("tests/data/trec_test.csv").texts[:20]
    loaded = rnnkit.load(out, engine="torch")
    probabilities = loaded.predict_proba(texts)
    with open("tests/data/model-0.1-expected.json", "w") as f:
        expected = {"commit": "78ec238", "texts": texts, "probabilities": probabilities.round(7).tolist()}
        json.dump(expected | {"labels": loaded.predict(texts)}, f, indent=1)
