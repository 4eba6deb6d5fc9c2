"""The gate's parts against references written here: tokens read and compared, rate buckets against a plain token
bucket (and shared by two mappings of one file, as two workers share it), the time limit around endpoints whose
timing the test controls, the batcher dropping what a cancelled request still had queued, and ``serve``'s bad
options as one line."""

import asyncio
import json
import random
import time
from types import SimpleNamespace

import pytest
from checks import one_line_error

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx2")
from click.testing import CliRunner  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.responses import StreamingResponse  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from rnnkit.cli import main  # noqa: E402
from rnnkit.errors import RnnkitError  # noqa: E402
from rnnkit.serving import auth  # noqa: E402
from rnnkit.serving.batcher import Batcher  # noqa: E402
from rnnkit.serving.gate import Gate, GateSettings  # noqa: E402
from rnnkit.serving.ratelimit import SLOTS, Buckets, Rate, costs, parse_rate  # noqa: E402
from rnnkit.serving.record import texts_of  # noqa: E402

TOKEN = "k" * 20
OTHER = "o" * 20


# ------------------------------------------------------------------------------------------- tokens
def test_a_token_file_is_read_line_by_line_and_bad_ones_are_one_line(tmp_path):
    path = tmp_path / "tokens"
    path.write_text(f"# the operator's note\n\n  {TOKEN}  \n{OTHER}\n")
    tokens = auth.Tokens.from_file(str(path))
    assert tokens.match(TOKEN.encode()) and tokens.match(OTHER.encode()) != tokens.match(TOKEN.encode())
    assert tokens.match(b"k" * 19) is None and tokens.match(TOKEN.encode() + b"k") is None
    assert tokens.match(b"") is None
    for text, fragment in [
        ("", "holds no token"),
        ("# only a comment\n", "holds no token"),
        ("short\n", "line 1: a token of 5 characters is too short"),
        (f"{TOKEN}\n{'x' * 16} y\n", "line 2: a token is one word"),
        ("caf\u00e9" * 5 + "\n", "printable ASCII"),
    ]:
        path.write_text(text)
        with pytest.raises(RnnkitError, match=fragment):
            auth.Tokens.from_file(str(path))
    with pytest.raises(RnnkitError, match="cannot read the token file"):
        auth.Tokens.from_file(str(tmp_path / "missing"))


def test_tokens_from_the_environment_and_the_options_that_contradict(tmp_path):
    environ = {auth.ENVIRONMENT: f"{TOKEN}, {OTHER}"}
    tokens = auth.load(None, False, environ)
    assert tokens.match(OTHER.encode()) and tokens.path is None
    assert "restart" in tokens.reload()  # the environment cannot be re-read
    path = tmp_path / "tokens"
    path.write_text(TOKEN)
    with pytest.raises(RnnkitError, match="use one"):
        auth.load(str(path), False, environ)
    with pytest.raises(RnnkitError, match="contradict"):
        auth.load(None, True, environ)
    assert auth.load(None, False, {}) is None


def test_reload_revokes_and_keeps_the_tokens_when_the_file_goes_bad(tmp_path):
    path = tmp_path / "tokens"
    path.write_text(f"{TOKEN}\n{OTHER}\n")
    tokens = auth.Tokens.from_file(str(path))
    path.write_text(f"{TOKEN}\n")
    assert "1 tokens (0 new, 1 revoked)" in tokens.reload()
    assert tokens.match(OTHER.encode()) is None and tokens.match(TOKEN.encode())
    path.write_text("")  # an editor's half-saved file must not lock everyone out
    assert "kept the 1 tokens in use" in tokens.reload() and tokens.match(TOKEN.encode())


def test_beyond_loopback_without_tokens_refuses_unless_no_auth():
    with pytest.raises(RnnkitError, match="--token-file FILE"):
        auth.exposure("0.0.0.0", None, False)
    assert auth.exposure("127.0.0.1", None, False) is None and auth.exposure("127.0.0.2", None, False) is None
    assert auth.exposure("localhost", None, False) is None and auth.exposure("::1", None, False) is None
    for host in ("192.168.1.5", "::", "example.org"):
        with pytest.raises(RnnkitError, match="no token is set"):
            auth.exposure(host, None, False)
    assert auth.exposure("0.0.0.0", auth.Tokens([TOKEN]), False) is None
    assert "every machine that can reach 0.0.0.0" in auth.exposure("0.0.0.0", None, True)
    assert "every process on this machine" in auth.exposure("::1", None, True)


def test_the_bearer_header_is_read_whatever_the_case_of_its_scheme():
    assert auth.bearer([(b"authorization", b"bearer  abc ")]) == b"abc"
    assert auth.bearer([(b"authorization", b"Basic abc")]) == b""
    assert auth.bearer([(b"x", b"y")]) is None


# ------------------------------------------------------------------------------------------- rates
@pytest.mark.parametrize(
    ("text", "per_second", "burst"),
    [("20/s", 20, 40), ("600/m", 10, 20), ("3600/hour", 1, 2), ("1/m", 1 / 60, 1), (" 2.5 / sec ", 2.5, 5)],
)
def test_rates_are_read_with_a_burst_of_two_seconds(text, per_second, burst):
    rate = parse_rate(text)
    assert rate.per_second == pytest.approx(per_second) and rate.burst == burst
    assert rate.cost("/predict") == 1 and rate.cost("/inspect") == min(costs()["/inspect"], burst)


@pytest.mark.parametrize("text", ["20", "20/d", "-1/s", "0/s", "fast", "20/s/s", ""])
def test_a_malformed_rate_is_one_line(text):
    with pytest.raises(RnnkitError, match="a rate looks like 20/s"):
        parse_rate(text)


def reference_bucket(rate: Rate, events: list[tuple[float, float]]) -> list[float]:
    """A plain token bucket, written as its definition: what each (time, cost) gets (0: taken; else the wait)."""
    tokens, last, out = rate.burst, 0.0, []
    for now, cost in events:
        tokens = min(rate.burst, tokens + (now - last) * rate.per_second)
        last = now
        if tokens >= cost:
            tokens -= cost
            out.append(0.0)
        else:
            out.append((cost - tokens) / rate.per_second)
    return out


def test_buckets_match_a_plain_token_bucket_for_each_client():
    rate = parse_rate("5/s", 7)
    buckets = Buckets(rate)
    generator = random.Random(0)
    clients = [f"client {i}".encode() for i in range(5)]
    events = {client: [] for client in clients}
    got = {client: [] for client in clients}
    now = 1000.0
    for _ in range(2000):
        now += generator.expovariate(20.0)
        client, cost = generator.choice(clients), generator.choice([1, 1, 1, 3, 7])
        events[client].append((now, cost))
        got[client].append(buckets.take(client, cost, now))
    for client in clients:
        expected = reference_bucket(rate, [(t - 1000.0, c) for t, c in events[client]])
        assert got[client] == pytest.approx(expected, abs=1e-9)
        assert 0 in got[client] and any(wait > 0 for wait in got[client])  # both answers happened


def test_two_mappings_of_one_file_share_the_buckets_and_many_clients_fit(tmp_path):
    path = str(tmp_path / "buckets")
    Buckets.create(path)
    rate = parse_rate("1/m", 4)
    first, second = Buckets(rate, path), Buckets(rate, path)  # as two workers map it
    now = 50.0
    taken = [b.take(b"token", 1, now) == 0 for b in (first, second, first, second, first, second)]
    assert taken == [True] * 4 + [False] * 2
    assert second.take(b"another", 1, now) == 0  # its own bucket
    # A quarter of the table's slots held by clients that are all being limited at once: each gets its burst, and
    # none loses its bucket to another (a lost bucket would be a full one again).
    clients = [f"c{i}".encode() for i in range(SLOTS // 4)]
    for client in clients:
        assert [first.take(client, 1, now) == 0 for _ in range(5)] == [True] * 4 + [False]
    assert all(second.take(client, 1, now) > 0 for client in clients)
    first.close()
    second.close()


# ------------------------------------------------------------------------------------------- the time limit
def served_stub(tmp_path) -> SimpleNamespace:
    return SimpleNamespace(task="classify", source=str(tmp_path), info={"engine": "test"})


def gated(tmp_path, app: FastAPI, **settings) -> Gate:
    return Gate(GateSettings(**settings), served_stub(tmp_path)).wrap(app, app)


def test_no_answer_within_the_time_limit_is_504_and_the_endpoints_work_is_cancelled(tmp_path):
    app = FastAPI()
    state = {"cancelled": False}

    @app.post("/slow")
    async def slow() -> dict:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            state["cancelled"] = True
            raise
        return {}

    @app.post("/stream")
    async def stream() -> StreamingResponse:
        async def pieces():
            for _ in range(5):
                await asyncio.sleep(0.1)
                yield b"piece "

        return StreamingResponse(pieces())

    with TestClient(gated(tmp_path, app, timeout=0.2)) as client:
        began = time.perf_counter()
        response = client.post("/slow")
        assert response.status_code == 504 and time.perf_counter() - began < 5
        assert "time limit of 0.2 s" in response.json()["error"] and state["cancelled"]
        streamed = client.post("/stream")  # begun in time: runs past the limit, whole
        assert streamed.status_code == 200 and streamed.text == "piece " * 5


def test_the_batcher_never_runs_what_a_cancelled_request_had_queued():
    ran: list[list[str]] = []

    def run(items):
        time.sleep(0.05)
        ran.append(list(items))
        return [item.upper() for item in items]

    async def scenario():
        batcher = Batcher(run, max_batch=2)
        first = asyncio.ensure_future(batcher(["a"]))  # runs at once
        await asyncio.sleep(0.01)
        given_up = asyncio.ensure_future(batcher(["b", "c", "d"]))
        kept = asyncio.ensure_future(batcher(["e"]))
        await asyncio.sleep(0.01)
        given_up.cancel()
        results = await asyncio.gather(first, kept)
        batcher.close()
        return results

    assert asyncio.run(scenario()) == [["A"], ["E"]]
    assert ran == [["a"], ["e"]]


def test_the_texts_of_a_body():
    assert texts_of(json.dumps({"texts": ["a", 3, "b"]}).encode()) == ["a", "b"]
    assert texts_of(b'{"prompt": "ROMEO:", "length": 5}') == ["ROMEO:"]
    assert texts_of(b'{"text": "x"}') == ["x"]
    assert texts_of(b"[1]") == [] and texts_of(b"{") == [] and texts_of(b"") == []


# ------------------------------------------------------------------------------------------- bad options
@pytest.mark.parametrize(
    ("arguments", "environ", "fragment"),
    [
        (["--token-file", "{missing}"], {}, "--token-file: cannot read the token file"),
        (["--token-file", "{empty}"], {}, "holds no token"),
        (["--rate", "20 per second"], {}, "--rate: a rate looks like 20/s"),
        (["--rate", "20/s", "--burst", "0"], {}, "--burst: a positive number"),
        (["--burst", "5"], {}, "a burst needs a rate"),
        (["--rate", "20/s", "--burst", "0.5"], {}, "at least 1"),
        (["--max-inflight", "0"], {}, "--max-inflight: a whole number"),
        (["--timeout", "never"], {}, "--timeout: a positive number"),
        (["--host", "0.0.0.0"], {}, "no token is set: add --token-file FILE"),
        (["--no-auth", "--token-file", "{good}"], {}, "contradict"),
        (["--token-file", "{good}"], {auth.ENVIRONMENT: TOKEN}, "use one"),
        ([], {auth.ENVIRONMENT: "short"}, "RNNKIT_TOKENS, token 1: a token of 5 characters"),
        (["--access-log", "{missing}/log"], {}, "cannot write the access log"),
    ],
)
def test_bad_serve_options_are_one_line_before_anything_starts(tmp_path, monkeypatch, arguments, environ, fragment):
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "good").write_text(TOKEN + "\n")
    monkeypatch.delenv(auth.ENVIRONMENT, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    paths = {name: str(tmp_path / name) for name in ("missing", "empty", "good")}
    arguments = [argument.format(**paths) for argument in arguments]
    # The model does not exist: every one of these must be refused before the model is read or a port is tried.
    result = CliRunner().invoke(main, ["serve", str(tmp_path / "no-model"), "--port", "1", *arguments])
    one_line_error(SimpleNamespace(returncode=result.exit_code, stderr=result.stderr), fragment)


def test_a_path_the_service_does_not_have_is_one_label_in_the_metrics(tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    app = FastAPI()

    @app.get("/here")
    async def here() -> dict:
        return {}

    with TestClient(gated(tmp_path, app)) as client:
        for path in ("/here", "/wp-admin", "/.env", "/here"):
            client.get(path)
        families = text_string_to_metric_families(client.get("/metrics").text)
        counted = {
            (s.labels["endpoint"], s.labels["status"]): s.value
            for family in families
            for s in family.samples
            if s.name == "rnnkit_requests_total"
        }
    assert counted == {("/here", "200"): 2, ("other", "404"): 2}


def test_the_access_logs_time_is_utc_iso_8601_with_milliseconds(tmp_path):
    from datetime import datetime, timezone

    from rnnkit.serving.accesslog import AccessLog

    log = AccessLog(str(tmp_path / "log"))
    before = datetime.now(timezone.utc)
    log.write({"endpoint": "/" + "x" * 300, "inputs": ["caf\u00e9"]})
    log.close()
    line = json.loads((tmp_path / "log").read_text())
    stamp = datetime.strptime(line["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((stamp - before).total_seconds()) < 2 and len(line["time"]) == len("2026-12-07T09:16:36.123Z")
    assert line["inputs"] == ["caf\u00e9"] and line["endpoint"].endswith("...") and len(line["endpoint"]) == 203


def test_each_task_says_what_its_endpoints_cost():
    """The service's own weights and the tasks' (``Task.costs``) are one table; an endpoint not named costs 1."""
    table = costs()
    assert table["/inspect"] == 200 and table["/generate"] == 100 and table["/translate"] == 4
    assert parse_rate("10/s").cost("/translate") == 4 and parse_rate("10/s").cost("/health") == 1


def test_serve_help_names_what_each_endpoint_costs():
    from click.testing import CliRunner

    from rnnkit.cli import main

    shown = " ".join(CliRunner().invoke(main, ["serve", "--help"]).output.split())
    assert "/generate 100, /inspect 200, /translate 4 (at most the burst)" in shown
