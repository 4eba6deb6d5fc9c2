"""``rnnkit serve``: a model behind an HTTP API and a web page."""

from __future__ import annotations

import click


@click.command()
@click.argument("model", type=click.Path())
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every machine).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes serving requests.")
@click.option(
    "--max-batch",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="Texts in one model call: concurrent requests are answered together (1: batching off).",
)
@click.option("--max-texts", type=click.IntRange(min=1), default=256, show_default=True, help="Texts per request.")
@click.option("--max-chars", type=click.IntRange(min=1), default=20_000, show_default=True, help="Characters per text.")
@click.option("--max-body", type=click.IntRange(min=1), default=1_000_000, show_default=True, help="Bytes per request.")
@click.option(
    "--max-length", type=click.IntRange(min=1), default=2_000, show_default=True, help="Tokens one generation writes."
)
def serve(model, host, port, workers, max_batch, max_texts, max_chars, max_body, max_length) -> None:
    """Serve MODEL over HTTP: a web page at /, the API at /docs.

    \b
    POST /predict  {"texts": [...], "top_k": 2}   labels and probabilities, or tokens and tags
    POST /generate {"prompt": "ROMEO:", "length": 200, "temperature": 0.8}   text, streamed
    POST /inspect  {"text": "..."}                the token-by-token page (needs torch)
    GET  /health, GET /model

    Runs on onnxruntime where it is installed (torch is not imported). Concurrent requests are batched into one model
    call. Ctrl-C or SIGTERM lets the requests in flight finish, then exits.
    """
    import socket

    from rnnkit.errors import RnnkitError

    try:
        from rnnkit.serving.limits import Limits
        from rnnkit.serving.server import serve as run_server
    except ImportError:
        raise RnnkitError("rnnkit serve needs fastapi and uvicorn: pip install 'rnnkit[serve]'") from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:  # a port in use is one line now, not a log later
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise RnnkitError(
                f"cannot listen on {host} port {port} ({e.strerror}): choose another with --port"
            ) from None
    limits = Limits(max_body, max_texts, max_chars, max_length)
    run_server(model, host, port, workers, max_batch, limits, say=lambda line: click.echo(line, err=True))
