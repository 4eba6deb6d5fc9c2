"""Choosing the search's settings on validation: a saved translator's valid.tsv BLEU for each beam width and length
penalty (GNMT's alpha), on onnxruntime. Appends one row to ``benchmarks/logs/translate_tuning.md``.

    python benchmarks/translate_decoding.py /tmp/translator --beams 1,5,10 --alphas 0,0.6,1.0
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from rnnkit.loading import load_onnx

DATA = Path("../shared/datasets/tatoeba_eng_fra/split")
LOG = Path("benchmarks/logs/translate_tuning.md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--beams", default="1,5,10")
    parser.add_argument("--alphas", default="0,0.6,1.0")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-ratio", type=float, help="translations at most this times the source's pieces ...")
    parser.add_argument("--max-extra", type=int, help="... plus this many")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    translator = load_onnx(args.model)
    for name in ("max_ratio", "max_extra", "batch_size"):
        if getattr(args, name) is not None:
            setattr(translator.decoding, name, getattr(args, name))
    scores = {}
    for beam in [int(b) for b in args.beams.split(",")]:
        for alpha in [float(a) for a in args.alphas.split(",")] if beam > 1 else [0.0]:
            translator.decoding.alpha = alpha
            started = time.perf_counter()
            report = translator.evaluate(DATA / "valid.tsv", beam=beam)
            scores[f"beam{beam}_alpha{alpha:g}"] = {
                "bleu": round(report["bleu"], 2),
                "chrf": round(report["chrf"], 2),
                "s": round(time.perf_counter() - started, 1),
            }
            print(json.dumps({f"beam{beam}_alpha{alpha:g}": scores[f"beam{beam}_alpha{alpha:g}"]}), flush=True)
    limits = {k: getattr(translator.decoding, k) for k in ("max_ratio", "max_extra", "batch_size")}
    row = {"decoding": scores, **limits, "model": args.model, "threads": args.threads, "note": args.note}
    with LOG.open("a", encoding="utf-8") as f:
        f.write(f"- `{time.strftime('%Y-%m-%d %H:%M')}` `{json.dumps(row)}`\n")


if __name__ == "__main__":
    main()
