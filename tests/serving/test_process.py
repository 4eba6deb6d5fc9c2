"""``rnnkit serve`` as a user runs it: a real process on loopback that says where it listens, answers, and on
SIGTERM or Ctrl-C lets a request in flight finish before it exits 0; bad starts are one line and exit 2."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from checks import one_line_error

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx2")

RUN_CLI = "import sys; sys.argv = ['rnnkit', *sys.argv[1:]]; from rnnkit.cli import main; main()"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*args: str, code: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "rnnkit.cli", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_until_up(process: subprocess.Popen, base: str, limit: float = 60.0) -> None:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if process.poll() is not None:
            raise AssertionError(f"the server exited early: {process.stderr.read()}")
        try:
            if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the server did not answer /health in time")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_the_server_finishes_a_request_in_flight_then_exits_0(trained_models, stop):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start("serve", str(trained_models["lm"]), "--port", str(port))
    try:
        wait_until_up(server, base)
        received: list[str] = []
        status: list[int] = []

        def read_stream() -> None:
            body = {"prompt": "A", "length": 1500, "seed": 1}
            with httpx.stream("POST", f"{base}/generate", json=body, timeout=60) as response:
                status.append(response.status_code)
                for piece in response.iter_text():
                    received.append(piece)

        reader = threading.Thread(target=read_stream)
        reader.start()
        while not received and reader.is_alive():
            time.sleep(0.01)
        server.send_signal(stop)  # while the text is still being written
        reader.join(timeout=60)
        code = server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    stderr = server.stderr.read()
    assert status == [200] and len("".join(received)) >= 1500  # every character of the request in flight
    assert code == 0, stderr
    assert f"at http://127.0.0.1:{port}/" in stderr and "loopback" in stderr and "Traceback" not in stderr


def test_a_port_in_use_a_bad_model_and_a_missing_extra_are_one_line(trained_models, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = start("serve", str(trained_models["classify"]), "--port", str(port))
        one_line_error(subprocess.CompletedProcess([], result.wait(60), "", result.stderr.read()), f"port {port}")
    result = start("serve", str(tmp_path / "nothing"))
    one_line_error(subprocess.CompletedProcess([], result.wait(60), "", result.stderr.read()))
    hidden = "import sys; sys.modules['fastapi'] = None; " + RUN_CLI.split("; ", 1)[1]
    result = start("serve", str(trained_models["classify"]), code=hidden)
    one_line_error(subprocess.CompletedProcess([], result.wait(60), "", result.stderr.read()), "rnnkit[serve]")


def test_a_body_over_the_limit_gets_413_over_a_real_connection_never_a_reset(trained_models):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start("serve", str(trained_models["classify"]), "--port", str(port), "--max-body", "100000")
    try:
        wait_until_up(server, base)
        big = b'{"texts": ["' + b"a" * 3_000_000 + b'"]}'

        def chunked():
            for start in range(0, len(big), 65536):
                yield big[start : start + 65536]

        for content in (big, chunked()):  # declared in Content-Length, or counted as it streams
            response = httpx.post(f"{base}/predict", content=content, timeout=60)
            assert response.status_code == 413 and "over 100000 bytes" in response.json()["error"]
        assert httpx.post(f"{base}/predict", json={"texts": ["who ?"]}).status_code == 200  # still serving
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
