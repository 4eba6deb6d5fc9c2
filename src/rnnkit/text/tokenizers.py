"""Tokenizers: text in, a list of string tokens out. Settings round-trip through JSON with the model."""

from __future__ import annotations

import re
from typing import Any

# Order matters: numbers with separators first ("1,000", "3.5"), then words with inner apostrophes
# ("don't", "o'clock", "l'homme"), then any other single non-space character (punctuation, symbols).
WORD_PATTERN = re.compile(r"\d+(?:[.,]\d+)+|\w+(?:['’]\w+)*|[^\w\s]")

# The treebank tokenizer (UD English EWT conventions, read off its data). One regex finds the tokens, left to
# right, the first alternative that matches winning; a second pass splits clitics off the words it found.
_APOSTROPHES = "'’`"
# An abbreviation keeps its period, except at the very end of the text (closing quotes or brackets aside): there
# EWT writes the period as the sentence's punctuation ("... etc" "."), as if the two periods had merged.
_NOT_LAST = r"(?![)\]}\"'”’»]*\s*$)"
_TREEBANK_ALTERNATIVES = [
    # URLs and e-mail addresses whole (also an internal mail system's "Jeff@ENRON"); a URL does not take the
    # punctuation that ends the sentence after it. An address's local part is at most 64 characters (RFC 5321):
    # unbounded, every word of a long run such as "a-b-c-..." would scan to the run's end looking for an "@".
    r"(?:(?:https?|ftp)://|www\.|mailto:)[^\s<>\"]*[^\s<>\"'’.,;:!?)\]]",
    r"\w[\w.+-]{0,63}@\w+(?:[.-]\w+)*",
    # Smileys: ":)", ";-)", ":D", ":P", "^_^".
    r"[:;=]-?[()DPp](?!\w)|\^_?\^",
    # Abbreviations: letters with periods ("U.S.", "e.g.", "a.m."), titles, months and days, single initials.
    rf"(?:[A-Za-z]\.)+[A-Za-z](?:\.{_NOT_LAST})?(?!\w)",
    r"(?:Mr|Mrs|Ms|Dr|Drs|St|Sts|Jr|Sr|Mt|Ft|Capt|Gen|Col|Lt|Gov|Sen|Rep|Reps|Rev|Prof|Inc|Co|Corp|Ltd|etc|vs|ext|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)"
    rf"\.{_NOT_LAST}",
    r"No\.(?=\s*\d)",  # "No. 5", not "I said no."
    r"[A-Z]\.(?=\s+[A-Z])",
    # Dates, phone numbers and file, host or newsgroup names, written without spaces: "08/16/2000", "9/11",
    # "713-853-3989", "notes.doc". Two numbers with a hyphen are a range ("5-10"), except a phone number's "345-9945".
    # A name runs to at most 17 dotted parts here, for the same reason as the e-mail address's bound.
    r"\d+(?:[-/]\d+){2,}|\d+/\d+|\d{3}-\d{4}(?!\d)|\d{5}-\d+",
    r"\w+(?:\.\w+){0,15}\.[A-Za-z]\w*",
    # Numbers keep their separators ("1,000", "3.5", "10:30"); a unit written against the number is its own token
    # ("5pm" -> "5" "pm", "35mm"), an ordinal or a decade is not ("2nd", "1970s").
    r"\d+(?:[.,:]\d+)*(?=(?i:am|pm|k|m|mm|cm|km|kg|lbs?|ft|mins?|hrs?)\b)",
    r"\d+(?:[.,:]\d+)+",
    # Words. A hyphen splits a word ("long" "-" "term"), unless what comes before it is a prefix ("e-mail",
    # "non-stop"); the apostrophe stays in the word here and is dealt with by the clitic pass.
    rf"(?i:e|non|pre|post|re|anti|pro|co|mid|ex|multi|semi|sub|inter|over|counter)-\w+(?:[{_APOSTROPHES}]\w+)*",
    r"[A-Za-z]+&[A-Za-z]+",  # "AT&T", "Q&A"
    rf"\w+(?:[{_APOSTROPHES}]\w+)*",
    rf"(?i:[{_APOSTROPHES}](?:s|m|d|ll|re|ve))(?!\w)",  # a clitic already split off: "I 'm"
    # Punctuation: a repeated mark is one token ("...", "!!", "--", "**"), so is "?!"; any other symbol alone.
    r"([^\w\s])\1+",
    r"\.?[!?]+",
    r"[^\w\s]",
]
_TREEBANK_PATTERN = re.compile("|".join(f"(?:{alternative})" for alternative in _TREEBANK_ALTERNATIVES))
# Clitics come off the end of a word, one at a time ("don't" -> "do" "n't", "I'm" -> "I" "'m"), also the forms
# written without an apostrophe that EWT splits the same way ("dont", "cannot", "gonna", "thats"). A number keeps
# its "'s" ("1970's"), as in EWT. "its" is left whole: EWT splits it where it stands for "it's", which only the
# syntax tells.
_CLITIC = re.compile(
    rf"""(?ix)
    ((?!\d+[{_APOSTROPHES}])\w[\w{_APOSTROPHES}]*?) (n[{_APOSTROPHES}]t | [{_APOSTROPHES}](?:s|m|d|ll|re|ve))
    | (do|does|did|is|was|were|are|ar|has|have|had|could|would|should|ca|wo|ai)(nt)
    | (that|what|there|here|he|she|who)(s) | (i|you|we|they)(ve) | (you|they)(re|ll) | (?-i:([iI])(m))
    | (can)(not) | (gon|wan)(na) | (got|out)(ta)
    """
)


class _Tokenizer:
    """A tokenizer is a function of the text and its settings; the settings are saved with the model."""

    kind: str

    def __init__(self, lowercase: bool = True) -> None:
        self.lowercase = lowercase

    def __call__(self, text: str) -> list[str]:
        return self.split(text.lower() if self.lowercase else text)

    def split(self, text: str) -> list[str]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "lowercase": self.lowercase}


class WordTokenizer(_Tokenizer):
    """Unicode-aware word tokenizer: splits words from punctuation, keeps numbers and inner apostrophes.

    >>> WordTokenizer()("Stocks fell 3.5% -- don't panic!")
    ['stocks', 'fell', '3.5', '%', '-', '-', "don't", 'panic', '!']
    """

    kind = "word"

    def split(self, text: str) -> list[str]:
        return WORD_PATTERN.findall(text)


class CharTokenizer(_Tokenizer):
    """Every character is a token, except that a run of whitespace becomes one space.

    >>> CharTokenizer()("Hi  there")
    ['h', 'i', ' ', 't', 'h', 'e', 'r', 'e']

    With ``keep_whitespace=True`` (and ``lowercase=False``) every character of the text is a token, as it is:
    case, spaces, tabs and line breaks, ``"\\r\\n"`` as two tokens. This is what a character language model
    reads, so that the text it writes keeps its lines and layout; a classifier is better served by the folding.

    >>> CharTokenizer(lowercase=False, keep_whitespace=True)("Hi\\n  you")
    ['H', 'i', '\\n', ' ', ' ', 'y', 'o', 'u']
    """

    kind = "char"

    def __init__(self, lowercase: bool = True, keep_whitespace: bool = False) -> None:
        super().__init__(lowercase)
        self.keep_whitespace = keep_whitespace

    def split(self, text: str) -> list[str]:
        return list(text if self.keep_whitespace else " ".join(text.split()))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "keep_whitespace": self.keep_whitespace}


# A word carries at most this many clitics ("could" "n't" "'ve"); the rest of a longer chain stays on its stem.
# Each split reads the whole word again, so without a bound "xn'tn'tn't..." would take time quadratic in its length.
MAX_CLITICS = 3


def _split_clitics(word: str) -> list[str]:
    clitics: list[str] = []
    while len(clitics) < MAX_CLITICS and (match := _CLITIC.fullmatch(word)) is not None:
        word, clitic = (part for part in match.groups() if part is not None)
        clitics.append(clitic)
    return [word, *reversed(clitics)]


class TreebankTokenizer(_Tokenizer):
    """Splits raw English as Universal Dependencies' English Web Treebank (EWT) does, so that a tagger trained
    on EWT's words gets the same kind of words from a sentence a user types.

    Punctuation is split off, and clitics are split as EWT's syntactic words (also with the ’ apostrophe):

    >>> TreebankTokenizer()("I'm sure John's friends don't know, and we can't say.")
    ['I', "'m", 'sure', 'John', "'s", 'friends', 'do', "n't", 'know', ',', 'and', 'we', 'ca', "n't", 'say', '.']
    >>> TreebankTokenizer()("They’ll say it won’t work... dont worry!!")
    ['They', '’ll', 'say', 'it', 'wo', 'n’t', 'work', '...', 'do', 'nt', 'worry', '!!']

    Numbers, abbreviations, URLs, e-mail addresses and smileys stay whole; a hyphen splits a compound but not a
    prefix ("e-mail"); the period of an abbreviation that ends the text is the sentence's own:

    >>> TreebankTokenizer()("Mr. Smith paid $1,000.50 at 10:30 for a long-term e-mail plan :)")
    ['Mr.', 'Smith', 'paid', '$', '1,000.50', 'at', '10:30', 'for', 'a', 'long', '-', 'term', 'e-mail', 'plan', ':)']
    >>> TreebankTokenizer()("See http://example.com/a?b=1, mail jo@example.org, e.g. in the U.S. etc.")
    ['See', 'http://example.com/a?b=1', ',', 'mail', 'jo@example.org', ',', 'e.g.', 'in', 'the', 'U.S.', 'etc', '.']

    Case is kept by default (a tagger needs it); ``lowercase=True`` lowercases the tokens, not the text before it
    is split, so the split is the same either way.
    """

    kind = "treebank"

    def __init__(self, lowercase: bool = False) -> None:
        super().__init__(lowercase)

    def __call__(self, text: str) -> list[str]:
        tokens = self.split(text)
        return [token.lower() for token in tokens] if self.lowercase else tokens

    def split(self, text: str) -> list[str]:
        return [part for match in _TREEBANK_PATTERN.finditer(text) for part in _split_clitics(match.group())]


def token_spans(text: str, tokens: list[str]) -> list[tuple[int, int]] | None:
    """The ``(start, end)`` character offsets of each token in ``text``, in order, whitespace between tokens
    skipped; None when the tokens do not spell the text (a character left out, changed or added, or an empty
    token). Two tokenizations of a text are compared by their spans, not by their strings.

    >>> token_spans("Don't  stop.", ["Do", "n't", "stop", "."])
    [(0, 2), (2, 5), (7, 11), (11, 12)]
    >>> token_spans("Don't stop.", ["do", "n't", "stop", "."]) is None
    True
    """
    spans, position = [], 0
    for token in tokens:
        while position < len(text) and text[position].isspace():
            position += 1
        if not token or not text.startswith(token, position):
            return None
        spans.append((position, position + len(token)))
        position += len(token)
    return spans if text[position:].strip() == "" else None


TOKENIZERS = {"word": WordTokenizer, "char": CharTokenizer, "treebank": TreebankTokenizer}
Tokenizer = WordTokenizer | CharTokenizer | TreebankTokenizer


def tokenizer_from_dict(settings: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from :meth:`to_dict` output; refuse kinds and settings we do not know.

    Settings written before a setting existed take its default (``keep_whitespace``: false).
    """
    kind = settings.get("kind")
    if kind not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer kind {kind!r}; expected one of {sorted(TOKENIZERS)}")
    lowercase = settings.get("lowercase", kind != "treebank")  # the treebank tokenizer keeps case by default
    flags = {"lowercase": lowercase, "keep_whitespace": settings.get("keep_whitespace", False)}
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise ValueError(f"tokenizer setting {name!r} must be true or false, got {value!r}")
    if kind == "char":
        return CharTokenizer(**flags)
    if flags["keep_whitespace"]:
        raise ValueError("tokenizer setting 'keep_whitespace' applies to character tokenizers only")
    if kind == "treebank":
        return TreebankTokenizer(lowercase=flags["lowercase"])
    return WordTokenizer(lowercase=flags["lowercase"])
