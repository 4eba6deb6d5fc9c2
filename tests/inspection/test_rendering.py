"""The inspection page and figure: self-contained, escaped, every token shown, and a PNG for every kind of model.

The dicts are synthetic (random numbers in the shapes of the ``rnnkit-inspection`` and ``rnnkit-units`` schemas),
so these tests need no model and run in a few seconds.
"""

import importlib.util
import random
import re
import sys
from html.parser import HTMLParser

import pytest

from rnnkit.inspection import figure
from rnnkit.inspection.page import MAX_UNITS, inspection_html, units_html

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GATES = {"lstm": ("input", "forget", "output"), "gru": ("reset", "update"), "rnn": ()}
STRANGE = ["<script>alert(1)</script>", "&", "$5", "a_b", "x$y$z"]


def inspection(
    task: str = "classify",
    cell: str | None = "lstm",
    tokens: list[str] | None = None,
    layers: int = 2,
    bidirectional: bool = True,
    hidden_size: int = 6,
    stateful: bool = True,
    gradients: bool = True,
    seed: int = 0,
) -> dict:
    """A synthetic inspection dict, version 1, of the given model on ``tokens``."""
    rng = random.Random(seed)
    tokens = tokens or ["the", "market", "fell", "<script>alert(1)</script>", "&", "$5", "a_b"]
    T, directions = len(tokens), 2 if bidirectional else 1
    U = directions * hidden_size

    def grid(low: float = -1.0, high: float = 1.0, width: int = U) -> list[list[float]]:
        return [[rng.uniform(low, high) for _ in range(width)] for _ in range(T)]

    def distribution(k: int) -> list[float]:
        raw = [rng.random() for _ in range(k)]
        return [r / sum(raw) for r in raw]

    labels = {"classify": ["World", "Sports", "Business"], "tag": ["NOUN", "VERB", "PUNCT", "X"], "lm": None}[task]
    if task == "classify":
        prediction = {
            "label": "World",
            "probabilities": distribution(3),
            "by_prefix": [distribution(3) for _ in tokens],
            "method": "state",
        }
    elif task == "tag":
        prediction = {"tags": [rng.choice(labels) for _ in tokens], "probabilities": [distribution(4) for _ in tokens]}
    else:
        steps = [
            {"token": tokens[t + 1], "probability": rng.random(), "top": [["e", 0.3], [" ", 0.2], ["$", 0.1]]}
            for t in range(T - 1)
        ]
        steps.append({"token": None, "probability": None, "top": [["\n", 0.4], ["<b>", 0.1]]})
        prediction = {"next": steps, "perplexity": 7.25}
    stack = []
    if stateful:
        for layer in range(layers):
            entry = {
                "layer": layer,
                "directions": directions,
                "hidden": grid(),
                "gates": {gate: grid(0.0, 1.0) for gate in GATES[cell]},
                "order": rng.sample(range(U), U),
                "changes": [[[rng.randrange(U), rng.uniform(-1, 1)] for _ in range(3)] for _ in tokens],
            }
            if cell == "lstm":
                entry["cell"] = grid(-3.0, 3.0)
            stack.append(entry)
    return {
        "format": "rnnkit-inspection",
        "version": 1,
        "text": " ".join(tokens) if task != "lm" else "".join(tokens),
        "tokens": tokens,
        "truncated": 0,
        "model": {
            "task": task,
            "kind": "rnn" if stateful else "bag",
            "cell": cell if stateful else None,
            "bidirectional": bidirectional,
            "layers": layers,
            "hidden_size": hidden_size,
            "member": None,
            "members": 1,
        },
        "stateful": stateful,
        "note": None if stateful else "the bag of embeddings averages its words: it has no state to show",
        "labels": labels,
        "prediction": prediction,
        "layers": stack,
        "gates": stack[-1]["gates"] if stack else {},
        "attributions": None
        if task != "classify"
        else {
            "target": "World",
            "occlusion": {
                "unk": [rng.uniform(-0.3, 0.3) for _ in tokens],
                "removed": [rng.uniform(-0.3, 0.3) for _ in tokens],
            },
            "integrated_gradients": {
                "values": [rng.uniform(-1, 1) for _ in tokens],
                "baseline": "<pad>",
                "steps": 50,
                "delta": 0.0012,
            }
            if gradients
            else None,
            "note": None if gradients else "integrated gradients need captum: pip install 'rnnkit[inspect]'",
        },
    }


CHARACTERS = list("To be,\nor not $5 a_b")
LONG = [f"w{i}" for i in range(200)]
CASES = {
    "lstm classifier, bidirectional, 2 layers": lambda: inspection(),
    "gru tagger": lambda: inspection("tag", "gru", layers=1, bidirectional=False),
    "rnn character language model": lambda: inspection("lm", "rnn", CHARACTERS, layers=1, bidirectional=False),
    "bag of embeddings": lambda: inspection(stateful=False, gradients=False),
    "200 tokens, 80 units": lambda: inspection(tokens=LONG, cell="gru", layers=1, bidirectional=False, hidden_size=80),
}


def units(passage: list[str] | None = None) -> dict:
    rng = random.Random(1)
    passage = passage or list('He said "a_b $5 <script>" &\n  then left.')
    properties = [
        {
            "name": name,
            "layer": 0,
            "unit": unit,
            "correlation": rng.uniform(-1, 1),
            "passage": {"tokens": passage, "activation": [rng.uniform(-1, 1) for _ in passage]},
        }
        for name, unit in (("inside quotes", 3), ("position in line", 9), ("class: <World>", 1))
    ]
    model = {"task": "lm", "kind": "rnn", "cell": "lstm", "bidirectional": True, "layers": 1, "hidden_size": 8}
    return {
        "format": "rnnkit-units",
        "version": 1,
        "model": model | {"member": None, "members": 1},
        "texts": 12,
        "tokens": 3400,
        "properties": properties,
    }


class Nesting(HTMLParser):
    """Checks that every element the page opens is closed, in order (void elements need no end tag)."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, f"</{tag}> closes nothing open"


def self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    nesting = Nesting()
    nesting.feed(page)
    nesting.close()
    assert nesting.open == []
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<(script|link|img|iframe)\b", page, re.IGNORECASE), "the page must load nothing"
    assert 'name="viewport"' in page


@pytest.mark.parametrize("case", CASES)
def test_page_is_self_contained_escaped_and_shows_every_token(case: str) -> None:
    data = CASES[case]()
    page = inspection_html(data)
    self_contained(page)
    for token in data["tokens"]:
        if token.strip():
            assert token.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in page
    if data["labels"]:
        assert data["labels"][0] in page


def test_page_escapes_a_script_token() -> None:
    page = inspection_html(inspection())
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_url_in_the_text_is_shown_but_not_written_as_one() -> None:
    data = inspection(tokens=["see", "https://example.org/x", "now"])
    page = inspection_html(data)
    self_contained(page)
    assert "example.org/x" in page


def test_classifier_page_has_its_sections_and_the_completeness_delta() -> None:
    page = inspection_html(inspection())
    for section in ("prediction", "attributions", "hidden", "cell", "gates", "changes"):
        assert f'id="{section}"' in page
    assert "0.0012" in page and "World" in page
    assert "\u2192" in page and "\u2190" in page  # the units of a bidirectional layer are named by direction


def test_bag_of_embeddings_shows_its_note_and_attributions_but_no_state() -> None:
    page = inspection_html(inspection(stateful=False, gradients=False))
    assert "it has no state to show" in page
    assert "integrated gradients need captum" in page
    assert 'id="attributions"' in page
    assert 'id="hidden"' not in page and 'id="gates"' not in page


def test_long_text_scrolls_and_large_layers_are_capped() -> None:
    data = CASES["200 tokens, 80 units"]()
    page = inspection_html(data)
    assert 'class="scroll"' in page and ".scroll{overflow-x:auto" in page
    assert f"the first {MAX_UNITS} of 80 units" in page
    rows = re.findall(r"<tr><th>[^<]*</th><td class=\"d", page)
    assert len(rows) == MAX_UNITS  # the hidden state of the one layer (its gates are drawn in green, "g" classes)
    assert len(page) < 2_000_000


def test_colour_scales_reach_their_ends() -> None:
    from rnnkit.inspection.page import NEGATIVE, POSITIVE, _rgb, scale_of

    assert scale_of([[0.0, 0.0], [0.1, -0.2]]) == 0.2 and scale_of([]) == 1.0 and scale_of([[None]]) == 1.0
    assert _rgb(0.2, 0.2) == POSITIVE and _rgb(-5.0, 0.2) == NEGATIVE and _rgb(0.0, 0.2) == (255, 255, 255)


def test_character_language_model_breaks_lines_and_keeps_spaces() -> None:
    page = inspection_html(CASES["rnn character language model"]())
    assert "\u21b5</span><br>" in page  # a "\n" token shows as a break, marked
    assert '"> </span>' in page  # a space token is a coloured space (white-space: pre-wrap)
    assert "7.25" in page  # perplexity


def test_units_page() -> None:
    data = units()
    page = units_html(data)
    self_contained(page)
    assert "<script>" not in page and "&lt;</span>" in page  # a character passage: "<" is a token of its own
    assert "inside quotes" in page and "class: &lt;World&gt;" in page
    assert "<br>" in page and "white-space:pre-wrap" in page
    assert "unit \u21923" in page and "unit \u21901" in page  # units 3 and 9 of a layer of 2 x 8


# The PNG figure ---------------------------------------------------------------------------------------------------

needs_matplotlib = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")


@needs_matplotlib
@pytest.mark.parametrize("case", CASES)
def test_png_is_written_for_every_kind_of_model(case: str, tmp_path) -> None:
    path = figure.inspection_png(CASES[case](), tmp_path / "inspect.png")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["inspect.png"]  # no temporary file left behind


def test_png_cuts_a_long_text_and_says_so() -> None:
    tokens, note = figure.figure_tokens(CASES["200 tokens, 80 units"]())
    assert len(tokens) == figure.MAX_TOKENS
    assert note == f"first {figure.MAX_TOKENS} of 200 tokens; the HTML page and the JSON have all"
    assert figure.figure_tokens(inspection()) == (inspection()["tokens"], None)


def test_png_draws_mathtext_characters_as_written() -> None:
    assert figure.tick("$5") == r"\$5" and figure.tick("a_b") == "a_b" and figure.tick("\n") == "\u21b5"


def test_units_page_names_a_cell_state_unit_and_the_absent_properties() -> None:
    data = units()
    data["properties"][0]["state"] = "cell"
    page = units_html(data | {"absent": ["bracket depth", "<b>"]})
    assert "layer 0 cell state, unit" in page
    assert "bracket depth, &lt;b&gt;" in page


def test_page_lists_the_tokens_read_as_unknown() -> None:
    data = inspection()
    data["unknown"] = [False, True, False, False, False, False, True]
    assert "(not in the vocabulary): market, a_b" in inspection_html(data)


@needs_matplotlib
def test_units_png(tmp_path) -> None:
    for name, data in (
        ("chars.png", units()),
        ("words.png", units(STRANGE * 30)),
        ("none.png", units() | {"properties": []}),
    ):
        data_ = figure.units_png(data, tmp_path / name).read_bytes()
        assert data_.startswith(PNG_SIGNATURE) and len(data_) > 5_000


def test_png_without_matplotlib_names_the_extra(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    monkeypatch.setitem(sys.modules, "matplotlib.colors", None)
    with pytest.raises(RuntimeError, match=r"pip install 'rnnkit\[plots\]'"):
        figure.inspection_png(inspection(), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
