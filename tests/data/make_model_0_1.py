"""Writes tests/data/model-0.1: a model directory saved by rnnkit 0.1 (commit 78ec238), kept so later releases are
tested to keep loading it, with the probabilities it gave then."""
import json, sys
import numpy as np
import rnnkit
from rnnkit.data import read_examples

out = sys.argv[1]
clf = rnnkit.train("/work/main/tests/data/trec_train.csv", ensemble=2, hidden=16, embedding_dim=16, epochs=2,
                   adversarial=0, out="/tmp/fx/run", progress=False)
clf.save(out)
texts = read_examples("/work/main/tests/data/trec_test.csv").texts[:20]
clf2 = rnnkit.load(out, engine="torch")
p = clf2.predict_proba(texts)
json.dump({"commit": "78ec238", "texts": texts, "probabilities": p.round(7).tolist(),
           "labels": clf2.predict(texts)}, open(out + "/../model-0.1-expected.json", "w"), indent=1)
print(clf2, p[:2])
