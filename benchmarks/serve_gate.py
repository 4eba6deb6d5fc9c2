"""The gate's own cost per request (``rnnkit.serving.gate``), in one process: a trivial ASGI app answered directly,
then behind the gate with more of it switched on each time (the access log into a file, a token, a rate).

No server and no sockets: each arm calls the app 20,000 times on one event loop (after 2,000 to warm up), with a
``POST /predict`` scope of one short JSON body; the arms take turns, ``--rounds`` times, and the medians are
printed, in microseconds per request. What it leaves out is what every arm shares in a real server (HTTP parsing,
routing, the endpoint, the model), so the differences between its lines are what each part of the gate adds.

Usage: python benchmarks/serve_gate.py [--rounds 5] [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from fastapi import FastAPI

from rnnkit.serving.gate import Gate, GateSettings
from rnnkit.serving.record import note_model_work

TOKEN = "k" * 32
BODY = b'{"texts": ["Stocks fell sharply after the report"]}'
TEXTS = ["Stocks fell sharply after the report"]


async def bare(scope: dict, receive, send) -> None:
    await receive()
    note_model_work(TEXTS, 1)  # as the batcher does for /predict
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def receive() -> dict:
    return {"type": "http.request", "body": BODY, "more_body": False}


async def sent(message: dict) -> None:
    pass


def scope(token: str | None) -> dict:
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {"type": "http", "method": "POST", "path": "/predict", "headers": headers, "client": ("127.0.0.1", 5)}


async def per_request(app, request: dict, count: int) -> float:
    for _ in range(2000):
        await app(request, receive, sent)
    began = time.perf_counter()
    for _ in range(count):
        await app(request, receive, sent)
    return (time.perf_counter() - began) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "tokens").write_text(TOKEN + "\n")
        served = SimpleNamespace(task="classify", source=str(root), info={"engine": "none"})
        routes = FastAPI()
        routes.post("/predict")(lambda: {})
        log, tokens = str(root / "access.log"), str(root / "tokens")
        arms = {
            "no gate": (bare, None),
            "gate (metrics, time limit)": (GateSettings(), None),
            "+ access log": (GateSettings(access_log=log), None),
            "+ token": (GateSettings(access_log=log, token_file=tokens), TOKEN),
            "+ rate": (GateSettings(access_log=log, token_file=tokens, rate="1000000/s"), TOKEN),
        }
        apps = {
            name: (app if callable(app) else Gate(app, served).wrap(bare, routes), scope(token))
            for name, (app, token) in arms.items()
        }
        times: dict[str, list[float]] = {name: [] for name in apps}
        for _ in range(args.rounds):
            for name, (app, request) in apps.items():
                times[name].append(asyncio.run(per_request(app, request, args.requests)))
    print(f"µs per request, median of {args.rounds} rounds of {args.requests:,}")
    for name, values in times.items():
        print(f"  {name:<28} {statistics.median(values):7.2f}")


if __name__ == "__main__":
    main()
