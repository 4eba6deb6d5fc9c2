"""``TreebankTokenizer``: raw English split as UD English EWT splits it, and ``token_spans`` to compare splits."""

import json
import subprocess
import sys

import pytest

from rnnkit.text.tokenizers import TOKENIZERS, TreebankTokenizer, token_spans, tokenizer_from_dict

CASES = [
    ("", []),
    ("  \n ", []),
    # Clitics, with each apostrophe EWT has, in any case; a possessive plural's apostrophe is punctuation.
    ("I'm sure it's John's.", ["I", "'m", "sure", "it", "'s", "John", "'s", "."]),
    (
        "We're here, you've seen, they'll go, I'd've",
        ["We", "'re", "here", ",", "you", "'ve", "seen", ",", "they", "'ll", "go", ",", "I", "'d", "'ve"],
    ),
    ("I’m sure it’s Mary’s; they’re here", ["I", "’m", "sure", "it", "’s", "Mary", "’s", ";", "they", "’re", "here"]),
    ("mama`s car", ["mama", "`s", "car"]),
    ("the students' books", ["the", "students", "'", "books"]),
    ("O'Connell o'clock", ["O'Connell", "o'clock"]),
    ("I 'm here", ["I", "'m", "here"]),
    # n't, which takes the n from its verb, and the forms written without an apostrophe.
    ("don't can't won't ain't", ["do", "n't", "ca", "n't", "wo", "n't", "ai", "n't"]),
    ("DON'T Doesn’t", ["DO", "N'T", "Does", "n’t"]),
    (
        "dont cant cannot gonna wanna gotta im thats",
        ["do", "nt", "ca", "nt", "can", "not", "gon", "na", "wan", "na", "got", "ta", "i", "m", "that", "s"],
    ),
    ("its own way", ["its", "own", "way"]),
    # Numbers, and what is written against them.
    ("3.5 1,000 10:30 -- $5 (50%)", ["3.5", "1,000", "10:30", "--", "$", "5", "(", "50", "%", ")"]),
    (
        "at 5pm on the 2nd in the 1970s or 1970's",
        ["at", "5", "pm", "on", "the", "2nd", "in", "the", "1970s", "or", "1970's"],
    ),
    (
        "Call 713-853-3989 or 345-9945 on 08/16/2000; 5-10 people",
        ["Call", "713-853-3989", "or", "345-9945", "on", "08/16/2000", ";", "5", "-", "10", "people"],
    ),
    # Abbreviations keep their period, unless the text ends on it; single initials before a name keep theirs.
    (
        "Mr. Smith of the U.S. met Dr. J. Doe, e.g. at 5 p.m. Sept. 9",
        ["Mr.", "Smith", "of", "the", "U.S.", "met", "Dr.", "J.", "Doe", ",", "e.g.", "at", "5", "p.m.", "Sept.", "9"],
    ),
    ("apples, pears etc.", ["apples", ",", "pears", "etc", "."]),
    ("He lives in the U.S.", ["He", "lives", "in", "the", "U.S", "."]),
    ("AT&T and Q&A", ["AT&T", "and", "Q&A"]),
    # URLs, e-mail addresses, file and host names whole; a sentence's last period is not the URL's.
    ("See http://www.example.com/a_b?c=1&d=2.", ["See", "http://www.example.com/a_b?c=1&d=2", "."]),
    ("Go to www.google.com, or Amazon.com!", ["Go", "to", "www.google.com", ",", "or", "Amazon.com", "!"]),
    (
        "Mail jane.doe+x@example.co.uk (or Jeff@ENRON) report.xls",
        ["Mail", "jane.doe+x@example.co.uk", "(", "or", "Jeff@ENRON", ")", "report.xls"],
    ),
    # Hyphens split compounds but not prefixes.
    ("a long-term e-mail non-stop re-read", ["a", "long", "-", "term", "e-mail", "non-stop", "re-read"]),
    # Punctuation: repeated marks and "?!" are one token; smileys are whole.
    (
        '"Hi," she said... what?! no!!! :) ;-) ^_^',
        ['"', "Hi", ",", '"', "she", "said", "...", "what", "?!", "no", "!!!", ":)", ";-)", "^_^"],
    ),
    ("(see below).", ["(", "see", "below", ")", "."]),
    ("“Quoted” — dash", ["“", "Quoted", "”", "—", "dash"]),
]


@pytest.mark.parametrize(("text", "tokens"), CASES)
def test_splits_as_the_treebank_does(text, tokens):
    assert TreebankTokenizer()(text) == tokens
    assert token_spans(text, tokens) is not None  # the tokens spell the text: nothing dropped or changed


def test_case_is_kept_by_default_and_lowercasing_does_not_change_the_split():
    text = "Mr. Smith DOESN'T live in the U.S. anymore."
    cased = TreebankTokenizer()(text)
    assert cased[:2] == ["Mr.", "Smith"]
    assert TreebankTokenizer(lowercase=True)(text) == [token.lower() for token in cased]


def test_token_spans():
    text = " Don't  stop.\n"
    assert token_spans(text, ["Do", "n't", "stop", "."]) == [(1, 3), (3, 6), (8, 12), (12, 13)]
    assert token_spans(text, ["Don't", "stop."]) == [(1, 6), (8, 13)]
    assert token_spans("", []) == [] and token_spans("  ", []) == []


@pytest.mark.parametrize(
    "tokens",
    [
        ["do", "n't", "stop", "."],  # a changed character (case)
        ["Do", "n't", "stop"],  # text left over
        ["Do", "n't", "stop", ".", "!"],  # a token past the end
        ["Do", "stop", "."],  # a character skipped
        ["Do", "", "n't", "stop", "."],  # an empty token
        ["stop", "Do", "n't", "."],  # out of order
    ],
)
def test_token_spans_is_none_when_the_tokens_do_not_spell_the_text(tokens):
    assert token_spans("Don't stop.", tokens) is None


def test_settings_round_trip():
    for tokenizer in (TreebankTokenizer(), TreebankTokenizer(lowercase=True)):
        settings = json.loads(json.dumps(tokenizer.to_dict()))
        assert settings == {"kind": "treebank", "lowercase": tokenizer.lowercase}
        again = tokenizer_from_dict(settings)
        assert type(again) is TreebankTokenizer and again.lowercase == tokenizer.lowercase
    assert tokenizer_from_dict({"kind": "treebank"}).lowercase is False  # keeps case unless told otherwise
    assert TOKENIZERS["treebank"] is TreebankTokenizer
    with pytest.raises(ValueError, match="character tokenizers only"):
        tokenizer_from_dict({"kind": "treebank", "keep_whitespace": True})
    with pytest.raises(ValueError, match="must be true or false"):
        tokenizer_from_dict({"kind": "treebank", "lowercase": "no"})


def test_a_long_run_without_spaces_is_split_in_linear_time():
    """Each of these runs made an alternative of the pattern (an e-mail address's local part, a dotted file name)
    scan from every token to the run's end and fail: 100,000 characters of "1a." took 44 s, 150,000 about 100 s, and
    a 5 MB line hours. Bounded, each takes well under a second; a subprocess with a generous timeout
    tells the two apart without timing anything."""
    code = (
        "from rnnkit.text.tokenizers import TreebankTokenizer, token_spans\n"
        "for unit in ('a-', '1a.', '+An', 'ta@', 'a.a-', '_.'):\n"
        "    text = unit * 50_000\n"
        "    tokens = TreebankTokenizer()(text)\n"
        "    assert token_spans(text, tokens) is not None, unit\n"
        "    assert len(tokens) > 25_000, (unit, len(tokens))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_chain_of_clitics_is_split_off_at_most_three_deep():
    """A word carries a few clitics at most ("could" "n't" "'ve"); a longer chain once recursed once per clitic,
    and 1,000 of them ended in a RecursionError."""
    assert TreebankTokenizer()("couldn't've") == ["could", "n't", "'ve"]
    word = "a" + "n't" * 1000
    assert TreebankTokenizer()(word) == ["a" + "n't" * 997, "n't", "n't", "n't"]
