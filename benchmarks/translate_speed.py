"""How fast a saved translator translates: sentences per second in batches (greedy and beam search), on onnxruntime
and on torch, and the seconds from nothing loaded to the first translation of one sentence.

    python benchmarks/translate_speed.py runs/translator --sentences 1000 --threads 2

The sentences are the first distinct English sources of the Tatoeba test split; each timing is the median of
``--repeat`` runs in this one process (the machine is shared: read ratios, not the last digit).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

DATA = Path("../shared/datasets/tatoeba_eng_fra/split")


def first_translation(model: str) -> float:
    """Seconds for a fresh process to load the model (onnxruntime, no torch) and translate one sentence."""
    code = (
        "import time; t = time.perf_counter()\n"
        "from rnnkit.loading import load_for_use\n"
        f"load_for_use({model!r}).translate('Where is the station?')\n"
        "print(time.perf_counter() - t)"
    )
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default="onnx,torch")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    from rnnkit.loading import load
    from rnnkit.tasks.translate.data import group_references, read_pairs

    torch.set_num_threads(args.threads)
    test = read_pairs(DATA / "test.tsv")
    sources = group_references(test.sources, test.targets)[0][: args.sentences]
    rows = []
    for engine in args.engines.split(","):
        translator = load(args.model, engine={"onnx": "onnxruntime"}.get(engine, engine))
        translator.decoding.batch_size = args.batch_size
        for beam in (1, 5):
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                translator.translate(sources, beam=beam)
                times.append(time.perf_counter() - started)
            seconds = statistics.median(times)
            rows.append({"engine": engine, "beam": beam, "sentences_per_s": round(len(sources) / seconds, 1)})
            print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"first_translation_s": round(first_translation(args.model), 2)}))


if __name__ == "__main__":
    main()
