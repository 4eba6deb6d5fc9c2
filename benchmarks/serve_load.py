"""Load test of ``rnnkit serve`` on loopback: throughput, latency and the batches formed, batching on and off.

Starts ``rnnkit serve MODEL --host 127.0.0.1 --port P --max-batch B`` as a subprocess, twice: batching on
(``--max-batch 256``, the default) and off (``--max-batch 1``). Against each server it runs a grid of cells:
concurrency 1, 8 and 32 (that many client workers, each with its own kept-alive connection) times requests of
1 text and of 64 texts (``POST /predict``, ``top_k`` 1). A cell is a fixed number of requests (``--requests`` for
one-text requests, ``--big-requests`` for 64-text ones), each worker sending requests one after another until the
count is reached, after a short warm-up (one request per worker, which also opens the connections); a cell also stops
by itself after ``--cell-limit`` seconds, and the table then marks it. The texts are real: the bundled AG News test
split (1,600 news texts, 37 words on average), cycled. Per cell it reports requests, failed requests (a status other
than 200, or not one prediction per text), texts/s and requests/s (answered / wall time of the cell), p50 and p99
latency (send to whole answer, ``perf_counter``), the mean batch the server formed in that cell (the difference of
``/health``'s batching counters before and after it: texts / model calls) and the CPU the client and the server
used (a share of one core). Then each server gets SIGTERM, and its exit status is recorded (it must be 0).

The issue's bar (issue 14), each checked and printed PASS or FAIL with its numbers: no failed request; at
concurrency 32 at least 2x the texts/s of concurrency 1 (one-text requests, batching on); batching on at least
1.5x batching off (one-text requests, concurrency 32); at concurrency 1 a one-text request's p50 within 5 ms
(batching on). The exit status is 0 whether the bar is met or not; it is non-zero only when the benchmark could not
run (no model, a server that did not start).

The client and the server share the machine (on the project's machine: 2 cores). The client is as cheap as it can
be: one process, one asyncio event loop, one kept-alive HTTP/1.1 connection per worker written and read by hand
(:class:`Connection`; httpx2 took three quarters of a core at 1,800 requests/s), request bodies encoded before the
clock starts. The server runs with ``OMP_NUM_THREADS=1`` (``--server-threads``; also MKL_ and OPENBLAS_NUM_THREADS),
so that NumPy's BLAS and torch, where onnxruntime is missing, do not start a thread per core against the client.
onnxruntime ignores these variables: its own pool has one thread per physical core whatever they say (``rnnkit
serve`` turns off its spin-waiting between calls, which on 2 cores took the CPU of the event loop). Read the figures
as the service's on a machine where its client takes part of the CPU, and compare cells, not machines.

With ``--compare tokens`` (issue 30) it measures instead two servers side by side, both batching on: one that asks
no token and one with ``--token-file`` (the client sends ``Authorization: Bearer ...`` to it). Both are started
once; each cell is then run on one and at once on the other, the order alternating from round to round, for
``--rounds`` rounds; the table gives each arm's median texts/s per cell and their ratio. The bar: tokens on within
5% of tokens off in every cell, and no failed request. ``--compare log`` sets the access log (the default, here
to a temporary file) against ``--no-access-log`` the same way, and ``--compare baseline --baseline-src DIR`` this
code against the code in DIR (for example a checkout of the commit before the gate).

Without ``--model`` it trains a small classifier on the bundled AG News sample once (``rnnkit train --ensemble 1
--adversarial 0 --epochs 3``, about half a minute on 2 cores) into ``benchmarks/.cache/serve-model`` and reuses it.
Everything listens and connects on 127.0.0.1 only.

Usage: python benchmarks/serve_load.py [--model DIR] [--requests 5000] [--big-requests 500]
           [--concurrency 1 8 32] [--sizes 1 64] [--server-threads 1] [--json benchmarks/logs/serve_load.json]
       python benchmarks/serve_load.py --compare tokens [--rounds 3] [--json benchmarks/logs/serve_tokens.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import gzip
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import numpy as np

import rnnkit
from rnnkit.data.bundled import ag_news_sample

HOST = "127.0.0.1"  # loopback only: never any other address
CACHE = Path(__file__).resolve().parent / ".cache" / "serve-model"
TRAIN = ["--ensemble", "1", "--adversarial", "0", "--epochs", "3"]
CONFIGURATIONS = {"on": 256, "off": 1}  # batching: --max-batch
TOKEN = secrets.token_urlsafe(32)  # the one token of a server with --token-file
TOKENS = "{tokens}"  # in an arm's options: the path of the file holding TOKEN
# --compare: two arms, each (name, options of rnnkit serve, whether the client sends TOKEN, a PYTHONPATH or None)
ARMS = {
    "tokens": [("tokens off", [], False, None), ("tokens on", ["--token-file", TOKENS], True, None)],
    "log": [("log on", [], False, None), ("log off", ["--no-access-log"], False, None)],
    "baseline": [("baseline", [], False, "{baseline}"), ("this code", [], False, None)],
}


@dataclass
class Cell:
    """The figures of one cell: one server configuration, one concurrency, one request size."""

    batching: str
    max_batch: int
    concurrency: int
    texts_per_request: int
    requests: int = 0
    failed: int = 0
    texts: int = 0  # texts answered, in successful requests
    seconds: float = 0.0
    texts_per_s: float = 0.0
    requests_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    mean_ms: float = 0.0
    model_calls: int = 0
    mean_batch: float = 0.0
    client_cpu: float = 0.0  # CPU seconds / wall seconds (1.0: one core busy)
    server_cpu: float | None = None
    warmup_failed: int = 0  # failed requests of the cell's warm-up (not in requests)
    stopped_at_limit: bool = False
    errors: list[str] = field(default_factory=list)  # the first few, one line each
    arm: str = ""  # --compare: the server's arm, and the round
    round: int = 0


def test_texts() -> list[str]:
    """The texts of the bundled AG News test split, in file order."""
    with gzip.open(ag_news_sample().test, "rt", encoding="utf-8", newline="") as f:
        return [row["text"] for row in csv.DictReader(f) if row["text"].strip()]


def default_model(cache: Path) -> Path:
    """The cached benchmark model, trained first if it is not there (into a side directory, then moved)."""
    if (cache / "config.json").exists():
        return cache
    partial = cache.with_name(cache.name + ".partial")
    print(f"training the benchmark model once into {cache} (rnnkit train {' '.join(TRAIN)}) ...", flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "rnnkit.cli", "train", *TRAIN, "--out", str(partial), "--overwrite", "-q"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not (partial / "config.json").exists():
        sys.exit(f"training the benchmark model failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    partial.rename(cache)
    return cache


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class Server:
    """``rnnkit serve`` in a subprocess on a free loopback port; its output goes to ``log`` (a file)."""

    def __init__(
        self,
        model: Path,
        max_batch: int,
        threads: int,
        log: Any,
        options: list[str] | None = None,
        token: str | None = None,
        src: str | None = None,
    ) -> None:
        self.max_batch = max_batch
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}  # what the client sends
        env = dict(os.environ)
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[name] = str(threads)
        for name in ("RNNKIT_SERVE", "RNNKIT_TOKENS"):
            env.pop(name, None)
        if src is not None:
            env["PYTHONPATH"] = src
        self.log = log
        command = [sys.executable, "-m", "rnnkit.cli", "serve", str(model), "--host", HOST]
        command += ["--port", str(self.port), "--max-batch", str(max_batch), *(options or [])]
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-3000:]

    async def wait_ready(self, client: httpx2.AsyncClient, timeout: float) -> dict[str, Any]:
        deadline = time.perf_counter() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.output()}")
            try:
                answer = await client.get(f"{self.url}/health", timeout=2)
                if answer.status_code == 200:
                    return answer.json()
            except httpx2.TransportError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the server did not answer /health within {timeout:.0f} s:\n{self.output()}")
            await asyncio.sleep(0.1)

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM, then the exit status (None: it had to be killed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


def bodies(texts: list[str], start: int, count: int, size: int) -> tuple[list[bytes], int]:
    """``count`` encoded request bodies of ``size`` texts each, the texts cycled from ``start``; and the next start."""
    out = []
    for _ in range(count):
        chosen = [texts[(start + i) % len(texts)] for i in range(size)]
        start = (start + size) % len(texts)
        out.append(json.dumps({"texts": chosen, "top_k": 1}).encode())
    return out, start


class Connection:
    """One kept-alive HTTP/1.1 connection that POSTs a body and reads the whole answer: a load generator as light as
    can be (in the way of wrk), so that the client takes as little as it can of the CPU it shares with the server
    (httpx2 took about three quarters of a core at 1,800 requests/s, a quarter of the machine)."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def reopen(self) -> None:
        self.close()
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """The status and body of the answer to ``POST path`` with a JSON ``body``."""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{self.extra}\r\n"
        )
        self.writer.write(head.encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length, chunked = None, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if length is not None:
            return status, await self.reader.readexactly(length)
        if not chunked:
            return status, await self.reader.read()
        parts = []
        while size := int((await self.reader.readline()).strip(), 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()
        await self.reader.readline()
        return status, b"".join(parts)


async def run_cell(
    server: Server, monitor: httpx2.AsyncClient, cell: Cell, texts: list[str], start: int, limit: float
) -> int:
    """Runs ``cell.requests`` requests (stopping early at ``limit`` seconds) and fills in ``cell``; the next text."""
    size, concurrency = cell.texts_per_request, cell.concurrency
    warm, start = bodies(texts, start, concurrency, size)
    work, start = bodies(texts, start, cell.requests, size)
    latencies: list[float] = []
    failed = answered = 0

    async def send(connection: Connection, body: bytes) -> tuple[float, str | None]:
        began = time.perf_counter()
        try:
            status, answer = await connection.post("/predict", body)
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            await connection.reopen()
            return time.perf_counter() - began, f"{type(e).__name__}: {e}"
        took = time.perf_counter() - began
        if status != 200:
            return took, f"status {status}: {answer[:200]!r}"
        try:
            got = len(json.loads(answer)["predictions"])
        except (ValueError, KeyError, TypeError):
            return took, f"not a prediction answer: {answer[:200]!r}"
        return took, None if got == size else f"{got} predictions for {size} texts"

    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    connections = [Connection(host, int(port), server.headers) for _ in range(concurrency)]
    try:
        for connection in connections:
            await connection.reopen()
        warmed = await asyncio.gather(*(send(c, body) for c, body in zip(connections, warm, strict=True)))
        cell.warmup_failed = sum(problem is not None for _, problem in warmed)
        cell.errors += [problem for _, problem in warmed if problem is not None][:5]
        before = (await monitor.get(f"{server.url}/health")).json()["batching"]
        next_request = 0
        deadline = time.perf_counter() + limit

        async def worker(connection: Connection) -> None:
            nonlocal next_request, failed, answered
            while next_request < len(work) and time.perf_counter() < deadline:
                body = work[next_request]
                next_request += 1
                took, problem = await send(connection, body)
                latencies.append(took)
                if problem is None:
                    answered += size
                else:
                    failed += 1
                    if len(cell.errors) < 5:
                        cell.errors.append(problem)

        server_cpu = cpu_seconds(server.process.pid)
        client_cpu = time.process_time()
        began = time.perf_counter()
        await asyncio.gather(*(worker(connection) for connection in connections))
        cell.seconds = time.perf_counter() - began
        cell.client_cpu = round((time.process_time() - client_cpu) / cell.seconds, 2)
        server_after = cpu_seconds(server.process.pid)
        if server_cpu is not None and server_after is not None:
            cell.server_cpu = round((server_after - server_cpu) / cell.seconds, 2)
        after = (await monitor.get(f"{server.url}/health")).json()["batching"]
    finally:
        for connection in connections:
            connection.close()

    cell.stopped_at_limit = next_request < len(work)
    cell.requests, cell.failed, cell.texts = len(latencies), failed, answered
    cell.texts_per_s = round(answered / cell.seconds, 1)
    cell.requests_per_s = round((len(latencies) - failed) / cell.seconds, 1)
    if latencies:
        p50, p99 = np.percentile(latencies, [50, 99]) * 1000
        cell.p50_ms, cell.p99_ms = round(float(p50), 2), round(float(p99), 2)
        cell.mean_ms = round(1000 * float(np.mean(latencies)), 2)
    cell.model_calls = after["calls"] - before["calls"]
    cell.mean_batch = round((after["texts"] - before["texts"]) / cell.model_calls, 2) if cell.model_calls else 0.0
    cell.seconds = round(cell.seconds, 3)
    return start


async def run_server(args: argparse.Namespace, batching: str, texts: list[str], report: dict[str, Any]) -> None:
    """One server configuration: start, warm up, every cell, SIGTERM; results into ``report``."""
    max_batch = CONFIGURATIONS[batching]
    with tempfile.TemporaryFile("w+") as log:
        server = Server(args.model, max_batch, args.server_threads, log)
        await run_cells(args, batching, server, texts, report)


async def run_cells(
    args: argparse.Namespace, batching: str, server: Server, texts: list[str], report: dict[str, Any]
) -> None:
    max_batch = server.max_batch
    monitor = httpx2.AsyncClient(timeout=httpx2.Timeout(30.0), trust_env=False)
    try:
        began = time.perf_counter()
        health = await server.wait_ready(monitor, args.start_timeout)
        ready = time.perf_counter() - began
        if health.get("task") != "classify":
            raise RuntimeError(f"{args.model} is not a classifier (task {health.get('task')!r})")
        if "model" not in report:
            report["model"] = (await monitor.get(f"{server.url}/model")).json()
        print(f"batching {batching} (--max-batch {max_batch}): server on {server.url}, ready in {ready:.1f} s")
        start = 0
        for size in args.sizes:  # warm-up: the model's first calls on each shape are slower
            warm = Cell(batching, max_batch, 8, size, requests=max(8, 256 // size))
            start = await run_cell(server, monitor, warm, texts, start, args.cell_limit)
            report["warmups"].append(asdict(warm))
        for size in args.sizes:
            for concurrency in args.concurrency:
                count = args.requests if size == 1 else args.big_requests
                cell = Cell(batching, max_batch, concurrency, size, requests=count)
                start = await run_cell(server, monitor, cell, texts, start, args.cell_limit)
                report["cells"].append(asdict(cell))
                print(
                    f"  concurrency {concurrency:>3}, {size:>3} texts/request: {cell.texts_per_s:>9,.1f} texts/s, "
                    f"p50 {cell.p50_ms:.2f} ms, mean batch {cell.mean_batch:.1f}, failed {cell.failed}",
                    flush=True,
                )
    finally:
        await monitor.aclose()
        running = server.process.poll() is None
        exit_status = server.stop()
        report["servers"][batching] = {
            "max_batch": max_batch,
            "port": server.port,
            "sigterm_exit_status": exit_status if running else None,
            "exit_status": exit_status,
            "log_tail": server.output(),
        }
        if running:
            print(f"  SIGTERM: the server exited with status {exit_status}", flush=True)
        else:
            print(f"  the server had exited by itself, with status {exit_status}", flush=True)


async def compare(args: argparse.Namespace, texts: list[str], report: dict[str, Any], tokens: Path) -> None:
    """``--compare``: the two arms' servers started together; every cell run on each in turn, alternating which goes
    first, for ``--rounds`` rounds; cells into ``report``."""
    with contextlib.ExitStack() as stack:
        logs = [stack.enter_context(tempfile.TemporaryFile("w+")) for _ in ARMS[args.compare]]
        await compare_with_logs(args, texts, report, tokens, logs)


async def compare_with_logs(
    args: argparse.Namespace, texts: list[str], report: dict[str, Any], tokens: Path, logs: list[Any]
) -> None:
    arms = ARMS[args.compare]
    servers: dict[str, Server] = {}
    for (name, options, token, src), log in zip(arms, logs, strict=True):
        options = [option.replace(TOKENS, str(tokens)) for option in options]
        src = src.replace("{baseline}", str(args.baseline_src)) if src else None
        servers[name] = Server(args.model, 256, args.server_threads, log, options, TOKEN if token else None, src)
    monitors = {
        name: httpx2.AsyncClient(timeout=httpx2.Timeout(30.0), trust_env=False, headers=server.headers)
        for name, server in servers.items()
    }
    try:
        for name, server in servers.items():
            await server.wait_ready(monitors[name], args.start_timeout)
            if "model" not in report:
                report["model"] = (await monitors[name].get(f"{server.url}/model")).json()
        start = 0
        for name, server in servers.items():  # warm-up: the model's first calls on each shape are slower
            for size in args.sizes:
                warm = Cell("on", 256, 8, size, requests=max(8, 256 // size), arm=name)
                start = await run_cell(server, monitors[name], warm, texts, start, args.cell_limit)
                report["warmups"].append(asdict(warm))
        names = list(servers)
        for round_ in range(args.rounds):
            order = names if round_ % 2 == 0 else names[::-1]
            for size in args.sizes:
                for concurrency in args.concurrency:
                    count = args.requests if size == 1 else args.big_requests
                    line = []
                    for name in order:
                        cell = Cell("on", 256, concurrency, size, requests=count, arm=name, round=round_)
                        start = await run_cell(servers[name], monitors[name], cell, texts, start, args.cell_limit)
                        report["cells"].append(asdict(cell))
                        line.append(f"{name} {cell.texts_per_s:,.0f}")
                    print(
                        f"  round {round_}, concurrency {concurrency:>3}, {size:>3} texts/request: texts/s "
                        + ", ".join(line),
                        flush=True,
                    )
    finally:
        for name, server in servers.items():
            await monitors[name].aclose()
            running = server.process.poll() is None
            status = server.stop()
            report["servers"][name] = {
                "sigterm_exit_status": status if running else None,
                "exit_status": status,
                "log_tail": server.output(),
            }


def compared(report: dict[str, Any], arms: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """The comparison's table and its checks. Per cell: each arm's median texts/s, and the median of the rounds'
    ratios (each round's cell on the second arm against the same round's on the first, run one right after the
    other: a pair sees the same background load, so the paired ratio is steadier than the ratio of medians)."""
    first, second = arms
    keys = sorted({(c["texts_per_request"], c["concurrency"]) for c in report["cells"]})
    lines = [
        f"| texts/request | concurrency | {first} texts/s | {second} texts/s | {second} / {first} (median of rounds) "
        f"| rounds' range | server CPU µs/request {first} | {second} | p50 ms {first} | p50 ms {second} | failed |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    out, ratios = [], []
    for size, concurrency in keys:
        cells = {
            arm: {
                c["round"]: c
                for c in report["cells"]
                if (c["texts_per_request"], c["concurrency"], c["arm"]) == (size, concurrency, arm)
            }
            for arm in arms
        }
        rate = {arm: statistics.median(c["texts_per_s"] for c in cells[arm].values()) for arm in arms}
        p50 = {arm: statistics.median(c["p50_ms"] for c in cells[arm].values()) for arm in arms}
        failed = sum(c["failed"] + c["warmup_failed"] for arm in arms for c in cells[arm].values())
        cpu = {  # the server's CPU per request answered: what the gate adds, steadier than wall time under load
            arm: statistics.median(
                1e6 * c["server_cpu"] * c["seconds"] / c["requests"] for c in cells[arm].values() if c["server_cpu"]
            )
            if any(c["server_cpu"] for c in cells[arm].values())
            else float("nan")
            for arm in arms
        }
        paired = [
            cells[second][r]["texts_per_s"] / cells[first][r]["texts_per_s"]
            for r in cells[first]
            if r in cells[second] and cells[first][r]["texts_per_s"]
        ]
        ratio = statistics.median(paired) if paired else 0.0
        ratios.append(ratio)
        spread = f"{min(paired):.3f}-{max(paired):.3f}" if paired else "-"
        lines.append(
            f"| {size} | {concurrency} | {rate[first]:,.0f} | {rate[second]:,.0f} | {ratio:.3f} | {spread} "
            f"| {cpu[first]:,.0f} | {cpu[second]:,.0f} | {p50[first]:.2f} | {p50[second]:.2f} | {failed} |"
        )
    failed = sum(c["failed"] for c in report["cells"] + report["warmups"])
    failed += sum(c["warmup_failed"] for c in report["cells"] + report["warmups"])
    requests = sum(c["requests"] for c in report["cells"])
    out.append({"check": "no failed request", "passed": failed == 0, "numbers": f"{failed} failed of {requests}"})
    if arms == [a[0] for a in ARMS["tokens"]]:
        worst = min(ratios)
        overall = statistics.geometric_mean(ratios) if worst > 0 else 0.0
        numbers = f"texts/s tokens on / off, median of rounds: lowest cell {worst:.3f}, all cells {overall:.3f}"
        check = "tokens on within 5% of tokens off in every cell"
        out.append({"check": check, "passed": worst >= 0.95, "numbers": numbers + " (need >= 0.95)"})
    statuses = {name: s["sigterm_exit_status"] for name, s in report["servers"].items()}
    numbers = ", ".join(f"{name}: {status}" for name, status in statuses.items())
    out.append(
        {
            "check": "each server exits 0 on SIGTERM",
            "passed": all(s == 0 for s in statuses.values()),
            "numbers": numbers,
        }
    )
    return "\n".join(lines), out


def find(cells: list[dict[str, Any]], batching: str, concurrency: int, size: int) -> dict[str, Any] | None:
    for cell in cells:
        if (cell["batching"], cell["concurrency"], cell["texts_per_request"]) == (batching, concurrency, size):
            return cell
    return None


def checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's bar (and the clean exits), each with its numbers; None where a cell needed was not run."""
    cells = report["cells"]
    out = []

    def check(name: str, passed: bool | None, numbers: str) -> None:
        out.append({"check": name, "passed": passed, "numbers": numbers})

    requests = sum(c["requests"] for c in cells)
    failed = sum(c["failed"] for c in cells)
    warm = report["warmups"] + cells
    warm_failed = sum(c["failed"] for c in report["warmups"]) + sum(c["warmup_failed"] for c in warm)
    numbers = f"{failed} failed of {requests} measured; {warm_failed} in the warm-ups"
    check("no failed request", failed == 0 and warm_failed == 0, numbers)

    def ratio_check(name: str, faster: dict[str, Any] | None, slower: dict[str, Any] | None, need: float) -> None:
        if not (faster and slower):
            check(name, None, "cells not run")
            return
        ratio = faster["texts_per_s"] / slower["texts_per_s"] if slower["texts_per_s"] else 0.0
        fast, slow = faster["texts_per_s"], slower["texts_per_s"]
        check(name, ratio >= need, f"{fast:,.0f} vs {slow:,.0f} texts/s = {ratio:.2f}x (need >= {need}x)")

    one, many = find(cells, "on", 1, 1), find(cells, "on", 32, 1)
    ratio_check("concurrency 32 >= 2x concurrency 1 (1 text/request, batching on)", many, one, 2)
    ratio_check("batching on >= 1.5x off (1 text/request, concurrency 32)", many, find(cells, "off", 32, 1), 1.5)
    if one:
        numbers = f"p50 {one['p50_ms']:.2f} ms (need <= 5 ms)"
        check("p50 of one text at concurrency 1 <= 5 ms (batching on)", one["p50_ms"] <= 5, numbers)
    else:
        check("p50 of one text at concurrency 1 <= 5 ms (batching on)", None, "cell not run")
    statuses = {name: s["sigterm_exit_status"] for name, s in report["servers"].items()}
    numbers = ", ".join(f"batching {name}: {status}" for name, status in statuses.items())
    check("each server exits 0 on SIGTERM", all(s == 0 for s in statuses.values()), numbers)
    return out


def table(cells: list[dict[str, Any]]) -> str:
    lines = [
        "| batching | concurrency | texts/request | requests | failed | texts/s | requests/s | p50 ms | p99 ms "
        "| mean batch | client CPU | server CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cells:
        limit = "*" if c["stopped_at_limit"] else ""
        server_cpu = "-" if c["server_cpu"] is None else f"{c['server_cpu']:.2f}"
        lines.append(
            f"| {c['batching']} ({c['max_batch']}) | {c['concurrency']} | {c['texts_per_request']} "
            f"| {c['requests']}{limit} | {c['failed']} | {c['texts_per_s']:,.0f} | {c['requests_per_s']:,.1f} "
            f"| {c['p50_ms']:.2f} | {c['p99_ms']:.2f} | {c['mean_batch']:.1f} | {c['client_cpu']:.2f} "
            f"| {server_cpu} |"
        )
    return "\n".join(lines)


def machine(args: argparse.Namespace) -> str:
    try:
        import onnxruntime

        engine = f"onnxruntime {onnxruntime.__version__}"
    except ImportError:
        engine = "no onnxruntime"
    load = "/".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs (client and server share them), Python "
        f"{platform.python_version()}, rnnkit {rnnkit.__version__}, {engine}, httpx2 {httpx2.__version__}; "
        f"server threads (OMP_NUM_THREADS) {args.server_threads}; load average before {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a trained classifier directory (default: train one, cached)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where the default model is trained and kept")
    parser.add_argument("--requests", type=int, default=5000, help="one-text requests per cell")
    parser.add_argument("--big-requests", type=int, help="requests per cell of the larger sizes [requests / 10]")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 64], help="texts per request")
    parser.add_argument("--batching", nargs="+", choices=list(CONFIGURATIONS), default=list(CONFIGURATIONS))
    parser.add_argument("--server-threads", type=int, default=1, help="OMP/MKL/OPENBLAS_NUM_THREADS of the server")
    parser.add_argument("--cell-limit", type=float, default=60.0, help="seconds after which a cell stops itself")
    parser.add_argument("--start-timeout", type=float, default=60.0, help="seconds to wait for /health")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--compare", choices=list(ARMS), help="two servers side by side, alternating (see above)")
    parser.add_argument("--rounds", type=int, default=3, help="--compare: rounds of every cell on each server")
    parser.add_argument("--baseline-src", type=Path, help="--compare baseline: the src directory of the other code")
    args = parser.parse_args()
    if args.compare == "baseline" and not args.baseline_src:
        parser.error("--compare baseline needs --baseline-src DIR")
    if args.big_requests is None:
        args.big_requests = max(1, args.requests // 10)
    if min(args.requests, args.big_requests, *args.concurrency, *args.sizes) < 1:
        parser.error("--requests, --big-requests, --concurrency and --sizes must be at least 1")
    if max(args.sizes) > 256:
        parser.error("--sizes: at most 256 texts per request (the server's --max-texts)")

    if args.model is None:
        args.model = default_model(args.cache)
    elif not (args.model / "config.json").exists():
        sys.exit(f"{args.model}: not a model directory (no config.json)")
    texts = test_texts()
    print(f"# {machine(args)}", flush=True)
    arguments = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    report: dict[str, Any] = {"machine": machine(args), "arguments": arguments, "servers": {}}
    report.update(cells=[], warmups=[])
    began = time.perf_counter()
    if args.compare:
        with tempfile.TemporaryDirectory() as directory:
            tokens = Path(directory) / "tokens"
            tokens.write_text(TOKEN + "\n")
            try:
                asyncio.run(compare(args, texts, report, tokens))
            except RuntimeError as e:
                sys.exit(f"the benchmark could not run: {e}")
        report["seconds"] = round(time.perf_counter() - began, 1)
        arms = [arm[0] for arm in ARMS[args.compare]]
        text, report["checks"] = compared(report, arms)
        print(f"\n{report['seconds']:.0f} s in all; medians of {args.rounds} rounds (order alternating), batching on")
        print(text)
        for c in report["checks"]:
            verdict = {True: "PASS", False: "FAIL", None: "N/A "}[c["passed"]]
            print(f"  {verdict}  {c['check']}: {c['numbers']}")
        for cell in report["warmups"] + report["cells"]:
            for problem in cell["errors"]:
                print(f"  error ({cell['arm']}, concurrency {cell['concurrency']}): {problem}")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=1) + "\n")
        return
    try:
        for batching in args.batching:
            asyncio.run(run_server(args, batching, texts, report))
    except RuntimeError as e:
        sys.exit(f"the benchmark could not run: {e}")
    report["seconds"] = round(time.perf_counter() - began, 1)

    described = report.get("model", {})
    config = described.get("config", {})
    summary = ", ".join(f"{k} {config[k]}" for k in ("cell", "hidden_size", "num_layers", "members") if k in config)
    print(f"\nmodel: {args.model} ({described.get('engine', '?')}; {summary}); {len(texts)} AG News test texts, cycled")
    print(f"{report['seconds']:.0f} s in all; * = the cell stopped at --cell-limit; CPU: share of one core\n")
    print(table(report["cells"]))
    report["checks"] = checks(report)
    print("\nThe bar of issue 14:")
    for c in report["checks"]:
        verdict = {True: "PASS", False: "FAIL", None: "N/A "}[c["passed"]]
        print(f"  {verdict}  {c['check']}: {c['numbers']}")
    for cell in report["warmups"] + report["cells"]:
        for problem in cell["errors"]:
            print(f"  error (batching {cell['batching']}, concurrency {cell['concurrency']}): {problem}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
