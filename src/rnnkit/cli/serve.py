"""``rnnkit serve``: a model behind an HTTP API and a web page, with what every request meets (tokens, limits,
metrics, an access log: :mod:`rnnkit.serving.gate`)."""

from __future__ import annotations

import click


class Checked(click.ParamType):
    """An option's value checked by ``rnnkit.serving.options.<check>`` (imported when used, so that ``rnnkit --help``
    stays fast): its RnnkitError is the command's one line (click's own would be a usage block)."""

    def __init__(self, check: str, metavar: str) -> None:
        self.check, self.name = check, metavar

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return self.name

    def convert(self, value, param, ctx):
        from rnnkit.errors import RnnkitError
        from rnnkit.serving import options

        if not isinstance(value, str):
            return value
        try:
            return getattr(options, self.check)(value)
        except RnnkitError as e:
            raise RnnkitError(f"{param.opts[0]}: {e}") from None


class CostsInHelp(click.Option):
    """--rate, whose help names what each endpoint costs (rnnkit.serving.ratelimit.costs: the service's and every
    task's), read when the help is shown: reading it at import would load every task for each rnnkit command."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from rnnkit.serving.ratelimit import costs

        template = self.help or ""
        self.help = template.format(costs=", ".join(f"{path} {cost:g}" for path, cost in sorted(costs().items())))
        try:
            return super().get_help_record(ctx)
        finally:
            self.help = template


def serve_gate_options(f):
    """``serve``'s options for what every request meets (rnnkit.serving.gate): tokens, limits, metrics, the log."""
    options = [
        click.option(
            "--token-file",
            type=Checked("token_file", "FILE"),
            help="Bearer tokens, one per line: every endpoint but the page, /health and /docs needs one; SIGHUP "
            "re-reads the file (revoke without a restart). Or set RNNKIT_TOKENS (comma-separated).",
        ),
        click.option("--no-auth", is_flag=True, help="Serve beyond loopback without tokens (warned on every start)."),
        click.option(
            "--rate",
            cls=CostsInHelp,
            type=Checked("rate", "N/s"),
            help="Requests per client (its token, or its address without tokens): 20/s, 600/m, 3600/h; past it "
            "429 with Retry-After. Some requests count as several: {costs} (at most the burst). [default: none]",
        ),
        click.option(
            "--burst", type=Checked("positive_number", "N"), help="Requests a client may send at once [2 s of --rate]."
        ),
        click.option(
            "--max-inflight",
            type=Checked("positive_count", "N"),
            default="256",
            show_default=True,
            help="Requests each worker answers at once; past it 503 at once.",
        ),
        click.option(
            "--timeout",
            type=Checked("positive_number", "SECONDS"),
            default="30",
            show_default=True,
            help="Time a request may wait for its answer to begin; past it 504, and its work is dropped.",
        ),
        click.option("--metrics-open", is_flag=True, help="GET /metrics without a token (for a scraper)."),
        click.option(
            "--access-log",
            metavar="FILE",
            default="-",
            help="One JSON line per request (never its texts) to FILE [default: standard error].",
        ),
        click.option("--no-access-log", is_flag=True, help="No access log."),
        click.option("--log-texts", is_flag=True, help="Write each request's texts in the access log."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


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
@serve_gate_options
def serve(model, host, port, workers, max_batch, max_texts, max_chars, max_body, max_length, **gate) -> None:
    """Serve MODEL over HTTP: a web page at /, the API at /docs.

    \b
    POST /predict  {"texts": [...], "top_k": 2}   labels and probabilities, or tokens and tags
    POST /generate {"prompt": "ROMEO:", "length": 200, "temperature": 0.8}   text, streamed
    POST /inspect  {"text": "..."}                the token-by-token page (needs torch)
    GET  /health, GET /model, GET /metrics (Prometheus)

    Runs on onnxruntime where it is installed (torch is not imported). Concurrent requests are batched into one model
    call. Every endpoint but the page, /health and /docs takes a token (Authorization: Bearer ...) when --token-file
    or RNNKIT_TOKENS gives some: beyond loopback it will not start without one (or --no-auth). Ctrl-C or SIGTERM lets
    the requests in flight finish, then exits; SIGHUP re-reads the token file.
    """
    import socket

    from rnnkit.errors import RnnkitError

    try:
        from rnnkit.serving.gate import GateSettings
        from rnnkit.serving.limits import Limits
        from rnnkit.serving.server import preflight
        from rnnkit.serving.server import serve as run_server
    except ImportError:
        needs = "fastapi, uvicorn and prometheus-client"
        raise RnnkitError(f"rnnkit serve needs {needs}: pip install 'rnnkit[serve]'") from None
    gate["access_log"] = None if gate.pop("no_access_log") else gate["access_log"]
    gate = GateSettings(**gate)
    preflight(host, gate)  # tokens, and no other machine without them: before the port is even tried
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
    say = lambda line: click.echo(line, err=True)  # noqa: E731
    run_server(model, host, port, workers, max_batch, limits, say=say, gate=gate)
