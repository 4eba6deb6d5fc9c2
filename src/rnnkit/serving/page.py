"""The web page at ``/``: one self-contained file (``index.html``: inline CSS and script, no request to any other
host), usable at phone width, that asks ``/model`` what the model is and shows the form that fits it."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def page_html() -> str:
    return files("rnnkit.serving").joinpath("index.html").read_text(encoding="utf-8")
