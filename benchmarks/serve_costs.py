"""What each endpoint of ``rnnkit serve`` costs the server, in one-text ``POST /predict`` requests: the weights of
``--rate`` (``rnnkit.serving.ratelimit.COSTS`` and each task's ``Task.costs``).

Starts ``rnnkit serve`` on loopback for a classifier and for a language model (one server at a time, one request at
a time, so that nothing overlaps) and measures the server's CPU seconds (user + system, from /proc) per request of
each kind, after a warm-up: ``/predict`` of one AG News test text, ``/inspect`` of one (the classifier), and
``/generate`` of the default 200 tokens (the language model; its ``/inspect`` of a 200-character prompt too). The
ratio to ``/predict`` is the cost of each. CPU, not wall time: a rate limit protects the machine's cores.

Without ``--classifier`` it uses the load benchmark's cached model (``benchmarks/serve_load.py`` trains it); without
``--lm``, it trains a character language model of the defaults (two layers of 512) for one epoch on the test
suite's Shakespeare sample, once, into ``benchmarks/.cache/serve-lm`` (the weights' quality does not change what a
request costs). With ``--translator DIR`` (a trained translator; none is trained here, as a useful one takes
minutes), ``/translate`` of one Tatoeba test sentence at the model's default beam is measured too.

Usage: python benchmarks/serve_costs.py [--classifier DIR] [--lm DIR] [--translator DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx2
from serve_load import CACHE, Server, cpu_seconds, default_model, test_texts

ROOT = Path(__file__).resolve().parents[1]
LM_CACHE = CACHE.with_name("serve-lm")
SAMPLE = ROOT / "tests" / "data" / "shakespeare_sample.txt"


def default_lm(cache: Path) -> Path:
    if (cache / "config.json").exists():
        return cache
    print(f"training the language model once into {cache} ...", flush=True)
    command = [sys.executable, "-m", "rnnkit.cli", "train", str(SAMPLE), "--task", "lm", "--epochs", "1"]
    done = subprocess.run([*command, "--out", str(cache), "--overwrite", "-q"], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"training the language model failed:\n{done.stderr[-2000:]}")
    return cache


async def cpu_per_request(server: Server, path: str, bodies: list[dict], warm: int) -> float:
    """The server's CPU seconds per request of ``bodies`` sent one after another (the first ``warm`` not counted)."""
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(300.0), trust_env=False) as client:
        await server.wait_ready(client, 120)
        for body in bodies[:warm]:
            (await client.post(server.url + path, json=body)).raise_for_status()
        before = cpu_seconds(server.process.pid)
        for body in bodies[warm:]:
            (await client.post(server.url + path, json=body)).raise_for_status()
        return (cpu_seconds(server.process.pid) - before) / len(bodies[warm:])


def measure(model: Path, plan: list[tuple[str, list[dict], int]]) -> dict[str, float]:
    with tempfile.TemporaryFile("w+") as log:
        server = Server(model, 256, 1, log)
        try:
            return {path: asyncio.run(cpu_per_request(server, path, bodies, warm)) for path, bodies, warm in plan}
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classifier", type=Path)
    parser.add_argument("--lm", type=Path)
    parser.add_argument("--translator", type=Path, help="a trained translator, for POST /translate")
    parser.add_argument("--repeats", type=int, default=3, help="measurements of each; the median is reported")
    args = parser.parse_args()
    classifier = args.classifier or default_model(CACHE)
    lm = args.lm or default_lm(LM_CACHE)
    texts = test_texts()
    predict = [{"texts": [text]} for text in texts[:600]]
    inspect = [{"text": text} for text in texts[:8]]
    generate = [{"prompt": "ROMEO:", "seed": i} for i in range(25)]
    prompt = [{"text": SAMPLE.read_text(encoding="utf-8")[i * 200 : (i + 1) * 200]} for i in range(6)]
    tatoeba = ROOT.parent / "shared" / "datasets" / "tatoeba_eng_fra" / "split" / "test.tsv"
    sources = (
        [line.split("\t")[0] for line in tatoeba.read_text(encoding="utf-8").splitlines()[:60]]
        if args.translator
        else []
    )
    translate = [{"texts": [source]} for source in sources]
    runs = []
    for _ in range(args.repeats):
        figures = measure(classifier, [("/predict", predict, 100), ("/inspect", inspect, 2)])
        figures.update(
            {f"lm {k}": v for k, v in measure(lm, [("/generate", generate, 5), ("/inspect", prompt, 2)]).items()}
        )
        if args.translator:
            figures["translate /translate"] = measure(args.translator, [("/translate", translate, 10)])["/translate"]
        runs.append(figures)
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    unit = median["/predict"]
    print(f"CPU ms per request (median of {args.repeats}), and in one-text /predict requests:")
    for key, seconds in median.items():
        print(f"  {key:<14} {1000 * seconds:9.2f} ms  {seconds / unit:8.1f}x")
    print(json.dumps({"cpu_seconds": median, "runs": runs}))


if __name__ == "__main__":
    main()
