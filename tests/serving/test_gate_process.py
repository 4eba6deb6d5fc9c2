"""``rnnkit serve`` with tokens, limits, metrics and its access log, as an operator runs it: real processes on
loopback (one, or two workers), real connections, each request loop bounded and stopping by itself."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from test_process import free_port, wait_until_up

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx2")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from rnnkit.serving.auth import fingerprint  # noqa: E402
from rnnkit.serving.ratelimit import costs  # noqa: E402

A = "a-token-for-the-tests-0001"
B = "b-token-for-the-tests-0002"
SECRET = "zanzibar quokka"  # a text that must not reach the log unless asked


class Served:
    """``rnnkit serve`` in a subprocess on a free loopback port; stopped with SIGTERM at the end of the block."""

    def __init__(self, model, *options: str, env: dict | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environ = {k: v for k, v in os.environ.items() if k != "RNNKIT_TOKENS"}
        command = [sys.executable, "-m", "rnnkit.cli", "serve", str(model), "--port", str(self.port), *options]
        environ = {**environ, "OMP_NUM_THREADS": "1", **(env or {})}
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ)
        self.stderr = ""
        self.sent: list[tuple[str, int]] = []  # (path, status) of every request of the test, in order

    def __enter__(self) -> "Served":
        wait_until_up(self.process, self.base)
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.code = self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self.stderr = self.process.stderr.read()

    def call(self, method: str, path: str, token: str | None = None, fresh: bool = False, **kwargs):
        """One request; ``fresh``: on a connection of its own (with --workers, any worker may take it)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if fresh:
            headers["Connection"] = "close"
        response = httpx.request(method, self.base + path, headers=headers, timeout=60, **kwargs)
        self.sent.append((path, response.status_code))
        return response

    def sighup(self) -> None:
        self.process.send_signal(signal.SIGHUP)


def refused(response, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    lines = response.text.strip().splitlines()
    assert len(lines) == 1 and set(json.loads(lines[0])) == {"error"}, response.text
    for fragment in fragments:
        assert fragment in response.text


def metrics_of(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample, by name and labels, as prometheus_client's own parser reads the text."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(metrics: dict, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 where there is none)."""
    return sum(v for (n, ls), v in metrics.items() if n == name and set(labels.items()) <= set(ls))


def log_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_endpoint_refuses_a_missing_and_a_wrong_token_and_answers_the_right_one(trained_models, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{A}\n")
    endpoints = {
        "classify": [
            ("POST", "/predict", {"texts": ["who wrote hamlet ?"]}),
            ("POST", "/inspect", {"text": " "}),  # past the gate, the endpoint's own 422 (torch not loaded: quick)
            ("GET", "/model", None),
            ("GET", "/metrics", None),
        ],
        "lm": [("POST", "/generate", {"prompt": "A", "length": 5}), ("GET", "/model", None)],
    }
    classify = Served(trained_models["classify"], "--token-file", str(tokens), "--no-access-log")
    lm = Served(trained_models["lm"], "--no-access-log", env={"RNNKIT_TOKENS": f"{A},{B}"})
    with classify, lm:  # both start at once
        for served, task in ((classify, "classify"), (lm, "lm")):
            for method, path, body in endpoints[task]:
                missing = served.call(method, path, json=body)
                refused(missing, 401, "needs a token")
                assert missing.headers["www-authenticate"] == 'Bearer realm="rnnkit"'
                wrong = served.call(method, path, token=A[:-1] + "X", json=body)
                refused(wrong, 401, "not valid")
                assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
                expected = 422 if path == "/inspect" else 200
                assert served.call(method, path, token=A, json=body).status_code == expected, (task, path)
            for path in ("/health", "/", "/docs"):  # open: a load balancer, and a browser before it has a token
                assert served.call("GET", path).status_code == 200
            schema = served.call("GET", "/openapi.json").json()  # /docs offers the token
            assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert lm.call("POST", "/generate", token=B, json={"prompt": "A", "length": 5}).status_code == 200
    assert classify.code == 0 and lm.code == 0
    assert "1 tokens from" in classify.stderr and "2 tokens from RNNKIT_TOKENS" in lm.stderr
    assert A not in classify.stderr + lm.stderr  # a token is never written


def test_a_revoked_token_is_refused_after_sighup_without_dropping_a_request_in_flight(trained_models, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{A}\n{B}\n")
    options = ["--token-file", str(tokens), "--no-access-log", "--max-length", "6000"]
    with Served(trained_models["lm"], *options) as served:
        received: list[str] = []
        status: list[int] = []

        def read_stream() -> None:  # begun with B before B is revoked, and long (seconds) to outlive the revocation
            body = {"prompt": "A", "length": 6000, "seed": 1}
            headers = {"Authorization": f"Bearer {B}"}
            with httpx.stream("POST", f"{served.base}/generate", json=body, headers=headers, timeout=60) as response:
                status.append(response.status_code)
                received.extend(response.iter_text())

        reader = threading.Thread(target=read_stream)
        reader.start()
        while not received and reader.is_alive():
            time.sleep(0.01)
        tokens.write_text(f"{A}\n")
        served.sighup()
        for _ in range(100):  # at most 10 s
            if served.call("GET", "/model", token=B).status_code == 401:
                break
            time.sleep(0.1)
        refused(served.call("GET", "/model", token=B), 401, "not valid")
        assert served.call("GET", "/model", token=A).status_code == 200
        assert reader.is_alive()  # still writing when B was refused
        reader.join(timeout=60)
    assert status == [200] and len("".join(received)) >= 6000  # every character of the request in flight
    assert "re-read" in served.stderr and "(0 new, 1 revoked)" in served.stderr and served.code == 0


def test_two_workers_share_the_rate_the_metrics_and_a_sighup_and_log_one_line_per_request(trained_models, tmp_path):
    tokens, log = tmp_path / "tokens", tmp_path / "access.log"
    tokens.write_text(f"{A}\n{B}\n")
    options = ["--workers", "2", "--token-file", str(tokens), "--rate", "1/m", "--burst", "6"]
    with Served(trained_models["classify"], *options, "--access-log", str(log)) as served:
        body = {"texts": [SECRET, "who wrote hamlet ?"]}
        answers = [served.call("POST", "/predict", token=A, fresh=True, json=body) for _ in range(10)]
        # 1/m refills nothing in the test's time: across both workers, exactly the burst passes
        assert [r.status_code for r in answers] == [200] * 6 + [429] * 4
        refused(answers[-1], 429, "over 1/m (burst 6) for this token")
        assert int(answers[-1].headers["retry-after"]) >= 1
        assert [served.call("POST", "/predict", token=B, fresh=True, json=body).status_code for _ in "ab"] == [200] * 2
        tokens.write_text(f"{A}\n")
        served.sighup()  # to the supervisor, which passes it on to each worker
        for _ in range(100):
            if served.call("GET", "/model", token=B).status_code == 401:
                break
            time.sleep(0.1)
        unauthorized = [served.call("GET", "/model", token=B, fresh=True) for _ in range(8)]
        assert [r.status_code for r in unauthorized] == [401] * 8  # whichever worker answers
        counted = Counter(served.sent)  # every request so far: what /metrics must count
        metrics = metrics_of(served.call("GET", "/metrics", token=A).text)
    requests = log_lines(log)
    assert len({line["worker"] for line in requests}) == 2  # both workers answered: the figures are the service's
    for (path, status), n in counted.items():
        assert sample(metrics, "rnnkit_requests_total", endpoint=path, status=str(status)) == n, (path, status)
    answered = sum(v for (name, labels), v in metrics.items() if name == "rnnkit_requests_total")
    assert answered - sample(metrics, "rnnkit_requests_total", endpoint="/health") == sum(counted.values())
    assert counted["/predict", 200] == 8 and counted["/predict", 429] == 4
    assert sample(metrics, "rnnkit_rejections_total", reason="rate_limited") == 4
    assert sample(metrics, "rnnkit_rejections_total", reason="unauthorized") == counted["/model", 401] >= 8
    assert sample(metrics, "rnnkit_texts_total", endpoint="/predict") == 16
    assert sample(metrics, "rnnkit_model_call_texts_sum") == 16  # the batcher's work: every text read once
    assert sample(metrics, "rnnkit_request_duration_seconds_count", endpoint="/predict") == 12
    assert sample(metrics, "rnnkit_requests_in_flight") == 0
    assert sample(metrics, "rnnkit_model_info", task="classify") == 1
    # The access log: one line per request (the /metrics one too), and no text in any.
    logged = Counter((line["endpoint"], line["status"]) for line in requests if line["endpoint"] != "/health")
    assert logged == Counter(served.sent)
    predicted = [line for line in requests if line["endpoint"] == "/predict" and line["status"] == 200]
    assert all(line["texts"] == 2 and line["batch"] >= 2 for line in predicted)
    assert SECRET not in log.read_text() and A not in log.read_text() and "inputs" not in requests[0]
    assert {line["token"] for line in predicted} == {digest_name(A), digest_name(B)}
    assert served.code == 0


def digest_name(token: str) -> str:
    return fingerprint(hashlib.sha256(token.encode()).digest())


def test_504_then_503_past_max_inflight_while_earlier_requests_complete_then_429_by_address(trained_models, tmp_path):
    log = tmp_path / "access.log"
    burst = costs()["/inspect"] + 3 * costs()["/generate"]  # what the requests below take, up to the last one
    options = ["--max-inflight", "2", "--rate", "1/m", "--burst", str(burst), "--timeout", "0.25", "--no-auth"]
    options += ["--max-length", "4000"]  # streams of seconds: the checks below happen while they run
    with Served(trained_models["lm"], *options, "--access-log", str(log), "--log-texts") as served:
        # The first /inspect loads torch and the model on torch: far more than 0.25 s.
        refused(served.call("POST", "/inspect", json={"text": "ROMEO:"}), 504, "time limit of 0.25 s")
        results: list[tuple[int, int]] = []
        received: list[list[str]] = [[], []]

        def read_stream(i: int) -> None:
            body = {"prompt": SECRET, "length": 4000, "seed": i}
            with httpx.stream("POST", f"{served.base}/generate", json=body, timeout=60) as response:
                for piece in response.iter_text():
                    received[i].append(piece)
                results.append((response.status_code, len("".join(received[i]))))

        readers = [threading.Thread(target=read_stream, args=(i,)) for i in range(2)]
        for reader in readers:
            reader.start()
        while not all(received) and any(reader.is_alive() for reader in readers):
            time.sleep(0.01)
        began = time.perf_counter()
        overloaded = served.call("POST", "/generate", json={"prompt": "A", "length": 5})
        refused(overloaded, 503, "limit of 2 requests")
        assert overloaded.headers["retry-after"] == "1" and time.perf_counter() - began < 1  # at once
        during = metrics_of(served.call("GET", "/metrics").text)  # /metrics is never refused for the cap
        assert sample(during, "rnnkit_requests_in_flight") == 2
        assert all(reader.is_alive() for reader in readers)
        for reader in readers:
            reader.join(timeout=60)
        assert results == [(200, 4000), (200, 4000)]  # begun in time, each runs past the time limit, whole
        # The address's burst is spent by the /inspect, two streams and one more (the 503 took nothing from it).
        assert served.call("POST", "/generate", json={"prompt": "A", "length": 5}).status_code == 200
        limited = served.call("POST", "/generate", json={"prompt": "A", "length": 5})
        refused(limited, 429, f"over 1/m (burst {burst}) for this address")
        assert int(limited.headers["retry-after"]) >= 1
        metrics = metrics_of(served.call("GET", "/metrics").text)  # open: no token is asked on loopback
    for reason in ("timeout", "overloaded", "rate_limited"):
        assert sample(metrics, "rnnkit_rejections_total", reason=reason) == 1, reason
    assert sample(metrics, "rnnkit_requests_total", endpoint="/generate", status="200") == 3
    lines = log_lines(log)
    streams = [line for line in lines if line["endpoint"] == "/generate" and line["status"] == 200]
    assert len(streams) == 3 and sum(line["inputs"] == [SECRET] for line in streams) == 2  # --log-texts
    assert [line["refused"] for line in lines if "refused" in line] == ["timeout", "overloaded", "rate_limited"]
    assert served.code == 0 and "warning: --no-auth: no token is asked" in served.stderr  # said on every start
