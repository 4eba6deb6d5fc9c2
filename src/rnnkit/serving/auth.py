"""Bearer tokens: who may call the service. Read from a file (one token per line, re-read on SIGHUP so that a token
is revoked without a restart) or from ``RNNKIT_TOKENS``; a request's token is compared in constant time.

A token is one word of printable ASCII, at least :data:`MIN_LENGTH` characters (``python -c "import secrets;
print(secrets.token_urlsafe(32))"`` makes one). Only the SHA-256 digests of the tokens are kept: a request's token
is hashed and compared with each of them by :func:`hmac.compare_digest`, every one of them every time, so that
neither the time taken nor where a comparison stops says how much of a token was right.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rnnkit.errors import RnnkitError

ENVIRONMENT = "RNNKIT_TOKENS"  # tokens separated by commas or white space
MIN_LENGTH = 16
MAKE_ONE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def parse_tokens(text: str, source: str, lines: bool = True) -> list[str]:
    """The tokens of ``text`` (one a line, blank lines and ``#`` comments skipped; or, with ``lines=False``, separated
    by commas or white space), or an ``RnnkitError`` naming ``source`` and what is wrong."""
    if lines:
        items = [(f"line {i}", line.strip()) for i, line in enumerate(text.splitlines(), 1)]
        items = [(where, line) for where, line in items if line and not line.startswith("#")]
    else:
        items = [(f"token {i}", word) for i, word in enumerate(text.replace(",", " ").split(), 1)]
    tokens = []
    for where, token in items:
        if any(not (33 <= ord(c) <= 126) for c in token):
            raise RnnkitError(f"{source}, {where}: a token is one word of printable ASCII (no spaces)")
        if len(token) < MIN_LENGTH:
            raise RnnkitError(
                f"{source}, {where}: a token of {len(token)} characters is too short to be secret; use at least "
                f"{MIN_LENGTH} (make one: {MAKE_ONE})"
            )
        tokens.append(token)
    if not tokens:
        raise RnnkitError(f"{source} holds no token: put one token per line (make one: {MAKE_ONE})")
    return tokens


def read_token_file(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        raise RnnkitError(f"cannot read the token file {path} ({reason})") from None
    return parse_tokens(text, path)


def fingerprint(digest: bytes) -> str:
    """A token's name in logs: the first 8 hex digits of its SHA-256 (the token itself is never written anywhere)."""
    return digest[:4].hex()


class Tokens:
    """The tokens the service accepts, from a file (re-read by :meth:`reload`) or fixed (from the environment)."""

    def __init__(self, tokens: Iterable[str], path: str | None = None) -> None:
        self.path = path
        self.digests = self._digests(tokens)

    @staticmethod
    def _digests(tokens: Iterable[str]) -> tuple[bytes, ...]:
        return tuple(sorted({hashlib.sha256(t.encode()).digest() for t in tokens}))

    @classmethod
    def from_file(cls, path: str) -> Tokens:
        return cls(read_token_file(path), os.path.abspath(path))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Tokens | None:
        text = (os.environ if environ is None else environ).get(ENVIRONMENT)
        return None if text is None else cls(parse_tokens(text, ENVIRONMENT, lines=False))

    @property
    def source(self) -> str:
        return self.path or ENVIRONMENT

    def match(self, presented: bytes) -> bytes | None:
        """The digest of the accepted token equal to ``presented``, or None; each accepted token is compared."""
        digest = hashlib.sha256(presented).digest()
        found = None
        for known in self.digests:  # no early exit: the time taken does not depend on which token matched
            if hmac.compare_digest(digest, known):
                found = known
        return found

    def reload(self) -> str:
        """Re-reads the file; the one line to log. A file that is now unreadable or holds no valid token leaves the
        tokens as they were (an editor's half-saved file must not lock everyone out) and says so."""
        if self.path is None:
            return f"tokens come from {ENVIRONMENT}, which a running service cannot re-read: restart it to change them"
        try:
            digests = self._digests(read_token_file(self.path))
        except RnnkitError as e:
            return f"kept the {len(self.digests)} tokens in use: {e}"
        revoked = len(set(self.digests) - set(digests))
        added = len(set(digests) - set(self.digests))
        self.digests = digests  # one assignment: a request sees the old tuple or the new one, never a mixture
        return f"re-read {self.path}: {len(digests)} tokens ({added} new, {revoked} revoked)"


@dataclass(frozen=True)
class Challenge:
    """A 401's ``WWW-Authenticate`` header (RFC 6750) and its one line."""

    header: str
    message: str


MISSING = Challenge(
    'Bearer realm="rnnkit"',
    "this endpoint needs a token: send the header 'Authorization: Bearer <token>'",
)
INVALID = Challenge(
    'Bearer realm="rnnkit", error="invalid_token"',
    "the token is not valid (mistyped, or revoked): ask the service's operator for one",
)


def bearer(headers: Iterable[tuple[bytes, bytes]]) -> bytes | None:
    """The token of a request's ``Authorization: Bearer <token>`` header (None: no such header; b"": another scheme)."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.strip().partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" else b""
    return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` reaches this machine only: ``localhost`` or a loopback address (any other name may resolve
    to anything, so it counts as reaching other machines)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure(host: str, tokens: Tokens | None, no_auth: bool) -> str | None:
    """Refuses (``RnnkitError``) to serve beyond loopback without tokens unless ``no_auth``; the warning to print on
    every start with ``no_auth`` (None without it)."""
    if not no_auth:
        if tokens is None and not is_loopback(host):
            raise RnnkitError(
                f"--host {host} serves other machines, and no token is set: add --token-file FILE (one token per "
                f"line; make one: {MAKE_ONE}) or set {ENVIRONMENT}; or pass --no-auth to serve without tokens"
            )
        return None
    reach = "every process on this machine" if is_loopback(host) else f"every machine that can reach {host}"
    return f"--no-auth: no token is asked; {reach} can call every endpoint"


def load(token_file: str | None, no_auth: bool, environ: Mapping[str, str] | None = None) -> Tokens | None:
    """The tokens of the options and the environment (None: no token is asked), checked."""
    environ = os.environ if environ is None else environ
    from_environment = ENVIRONMENT in environ
    if no_auth and (token_file or from_environment):
        given = "--token-file" if token_file else ENVIRONMENT
        raise RnnkitError(f"--no-auth and {given} contradict each other: drop one")
    if token_file and from_environment:
        raise RnnkitError(f"--token-file and {ENVIRONMENT} both give tokens: use one (unset {ENVIRONMENT})")
    if token_file:
        return Tokens.from_file(token_file)
    return Tokens.from_environment(environ)
