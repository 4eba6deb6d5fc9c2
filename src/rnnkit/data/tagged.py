"""Tagged sentences (a tag for every token) for sequence taggers: read from, and written back to, two formats.

``conllu`` is Universal Dependencies' CoNLL-U (``.conllu``, ``.conllu.gz``): the tag is one of its ten columns,
chosen by name (``upos`` by default). ``tokens`` is everything else, CoNLL-2003 included: one token per line, columns
separated by a tab (or, on a line without one, by spaces), the token first and the tag last (or in the column given
by number), a blank line between sentences.

We read CoNLL-U with a strict reader of our own rather than the ``conllu`` library: every problem must be reported
as one line naming the file and the line, and a tagged copy must keep every line it does not change byte for byte
(comments, multiword tokens, empty nodes, the other nine columns), which needs the lines exactly as read.
Multiword-token ranges (``3-4``) and empty nodes (``8.1``) are skipped for tagging, as UD's own evaluation does,
and counted. Files are written with ``\\n`` line ends; ``-DOCSTART-`` lines are not written back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rnnkit.data.readers import read_text_file
from rnnkit.errors import DataError
from rnnkit.io import atomic_write_text

TAGGED_FORMATS = ("conllu", "tokens")
CONLLU_COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
DOCSTART = "-DOCSTART-"
_RANGE = re.compile(r"[0-9]+-[0-9]+")
_EMPTY_NODE = re.compile(r"[0-9]+\.[0-9]+")
_NO_TAG = "_"  # CoNLL-U: no value


@dataclass
class TaggedSentence:
    """One sentence: its tokens, their tags (``None`` when the file is untagged) and where it starts.

    ``source`` holds the sentence's lines as read, without line ends, so that a tagged copy changes only the tags:
    in CoNLL-U its comments, ranges, empty nodes and words; in a token file its token lines.
    """

    tokens: list[str]
    tags: list[str] | None
    line: int
    source: list[str] | None = None

    def token_line(self, index: int) -> int:
        """The file's line number of token ``index``, for messages (the sentence's first line if not kept)."""
        if self.source is None:
            return self.line
        if len(self.source) == len(self.tokens):  # a token file: every line is a token
            return self.line + index
        words = [n for n, line in enumerate(self.source) if line.split("\t", 1)[0].isdigit()]
        return self.line + words[index]


@dataclass
class TaggedCorpus:
    """The sentences of one file and how they were read: format, tag column, what was skipped (and how often)."""

    path: str
    format: str
    tag_column: str  # a CoNLL-U column name, or a token file's 1-based column number as a string
    sentences: list[TaggedSentence]
    skipped: dict[str, int] = field(default_factory=dict)
    columns: int | None = None  # token files: columns per line

    @property
    def tokens(self) -> list[list[str]]:
        return [sentence.tokens for sentence in self.sentences]

    @property
    def tags(self) -> list[list[str]] | None:
        if not self.has_tags:
            return None
        return [sentence.tags or [] for sentence in self.sentences]

    @property
    def has_tags(self) -> bool:
        return bool(self.sentences) and self.sentences[0].tags is not None

    def summary(self) -> str:
        """One line, e.g. ``read 12,544 sentences (204,577 tokens, tags from column upos) from train.conllu; ...``."""
        tokens = sum(len(sentence.tokens) for sentence in self.sentences)
        tags = f"tags from column {self.tag_column}" if self.has_tags else "no tags"
        line = f"read {_count(len(self.sentences), 'sentence')} ({_count(tokens, 'token')}, {tags}) from {self.path}"
        skipped = [f"{n:,} {what[:-1] if n == 1 else what}" for what, n in self.skipped.items() if n]
        if skipped:
            line += "; skipped " + (", ".join(skipped[:-1]) + " and " if len(skipped) > 1 else "") + skipped[-1]
        return line


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def detect_tagged_format(path: str | Path) -> str:
    """``conllu`` for ``.conllu`` (``.gz`` looked through), else ``tokens``: token files have no suffix of their own."""
    suffixes = [suffix.lower() for suffix in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return "conllu" if suffixes and suffixes[-1] == ".conllu" else "tokens"


def is_tagged_file(path: str | Path) -> bool:
    """Whether the file's name alone says it holds tagged sentences (CoNLL-U), so the task can be inferred."""
    return detect_tagged_format(path) == "conllu"


def read_tagged(
    path: str | Path, *, tag_column: str | int | None = None, require_tags: bool = True, format: str | None = None
) -> TaggedCorpus:
    """Read tagged sentences; ``require_tags=False`` also accepts an untagged file (input for prediction).

    ``tag_column``: for CoNLL-U a column name (``upos``, ``xpos``, ``deprel``...) or number; for token files a
    1-based column number (default: the last column). Every problem is a :class:`DataError` of one line.
    """
    path = Path(path)
    if format is not None and format not in TAGGED_FORMATS:
        raise DataError(f"unknown tagged format {format!r}; choose one of {', '.join(TAGGED_FORMATS)}")
    fmt = format or detect_tagged_format(path)
    text = read_text_file(path)
    if "\x00" in text:
        number = text.count("\n", 0, text.index("\x00")) + 1
        raise DataError(f"{path} line {number}: a NUL byte; is this a binary file? tagged sentences are UTF-8 text")
    blocks = _blocks(text)
    if fmt == "conllu":
        corpus = _read_conllu(path, blocks, _conllu_column(tag_column))
    else:
        corpus = _read_tokens(path, blocks, tag_column)
    if not corpus.sentences:
        what = "word lines (ids 1, 2, 3...)" if fmt == "conllu" else "token lines"
        raise DataError(f"{path}: no sentences; a sentence is {what}, and a blank line ends it")
    if require_tags and not corpus.has_tags:
        raise DataError(
            f"{path}: has no tags in column {corpus.tag_column}; choose the tag column (--tag-column), "
            "or tag the file (untagged files are input for prediction only)"
        )
    return corpus


def _blocks(text: str) -> list[list[tuple[int, str]]]:
    """The non-blank lines (numbered, ``\\r`` ends removed) in runs separated by blank lines."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line[:-1] if line.endswith("\r") else line
        if line.strip():
            current.append((number, line))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _conllu_column(tag_column: str | int | None) -> str:
    name = str(tag_column if tag_column is not None else "upos").strip().lower()
    if name.isdecimal() and 1 <= int(name) <= len(CONLLU_COLUMNS):
        name = CONLLU_COLUMNS[int(name) - 1]
    if name not in CONLLU_COLUMNS[2:]:
        raise DataError(
            f"tag column {tag_column!r}: a CoNLL-U tag column is one of {', '.join(CONLLU_COLUMNS[2:])} "
            "(id and form are not tags)"
        )
    return name


def _read_conllu(path: Path, blocks: list[list[tuple[int, str]]], column: str) -> TaggedCorpus:
    index = CONLLU_COLUMNS.index(column)
    corpus = TaggedCorpus(str(path), "conllu", column, [], {"multiword-token ranges": 0, "empty nodes": 0})
    if all(line.startswith("#") for block in blocks for _, line in block):
        return corpus  # nothing but comments: no sentences
    untagged: int | None = None  # the first word line without a tag, and the first with one
    tagged: int | None = None
    for block in blocks:
        tokens: list[str] = []
        tags: list[str] = []
        for number, line in block:
            if line.startswith("#"):
                if tokens:
                    raise DataError(
                        f"{path} line {number}: a comment line inside a sentence; comments go before its words, "
                        "and a blank line ends a sentence"
                    )
                continue
            columns = line.split("\t")
            if len(columns) != len(CONLLU_COLUMNS):
                raise DataError(
                    f"{path} line {number}: {len(columns)} tab-separated columns; a CoNLL-U word line has 10 "
                    "(ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC), separated by tabs"
                )
            word_id = columns[0]
            if _RANGE.fullmatch(word_id) or _EMPTY_NODE.fullmatch(word_id):
                corpus.skipped["multiword-token ranges" if "-" in word_id else "empty nodes"] += 1
                continue
            if word_id != str(len(tokens) + 1):
                raise DataError(
                    f"{path} line {number}: word id {word_id!r} where {len(tokens) + 1} was expected; ids run 1, 2, "
                    "3... within a sentence, and a blank line ends a sentence"
                )
            form, tag = columns[1], columns[index]
            if not form.strip():
                raise DataError(f"{path} line {number}: an empty FORM (column 2); every word needs one")
            if not tag:
                raise DataError(f"{path} line {number}: an empty {column} column; write _ for no value")
            if tag == _NO_TAG:
                untagged = untagged or number
            else:
                tagged = tagged or number
            tokens.append(form)
            tags.append(tag)
        if not tokens:
            raise DataError(
                f"{path} line {block[0][0]}: lines with no word line among them; a sentence needs word lines "
                "(ids 1, 2, 3...), and a blank line ends it"
            )
        corpus.sentences.append(TaggedSentence(tokens, tags, block[0][0], [line for _, line in block]))
    if untagged is not None and tagged is not None:
        raise DataError(
            f"{path} line {untagged}: no {column} tag (_) on this word, though other words have one (line {tagged}); "
            "tag every word, or none (input for prediction)"
        )
    if tagged is None:
        for sentence in corpus.sentences:
            sentence.tags = None
    return corpus


def _split(line: str) -> list[str]:
    """A token line's columns: split at tabs when it holds one, else at runs of spaces."""
    return line.split("\t") if "\t" in line else [column for column in line.split(" ") if column]


def _token_column(tag_column: str | int | None) -> int | None:
    if tag_column is None:
        return None
    text = str(tag_column).strip()
    if not text.isdecimal() or int(text) < 2:
        raise DataError(
            f"tag column {tag_column!r}: a token-per-line file's tag column is a number from 2 (column 1 holds the "
            "token); column names are for CoNLL-U files"
        )
    return int(text)


def _read_tokens(path: Path, blocks: list[list[tuple[int, str]]], tag_column: str | int | None) -> TaggedCorpus:
    wanted = _token_column(tag_column)
    corpus = TaggedCorpus(str(path), "tokens", str(wanted or 2), [], {"-DOCSTART- lines": 0})
    first = 0  # the first token line, which sets the number of columns
    index: int | None = None  # the tag's column (0-based); None: untagged
    for block in blocks:
        tokens: list[str] = []
        tags: list[str] = []
        source: list[str] = []
        for number, line in block:
            columns = _split(line)
            if columns[0] == DOCSTART:
                corpus.skipped["-DOCSTART- lines"] += 1
                continue
            if corpus.columns is None:
                corpus.columns, first = len(columns), number
                if len(columns) > 1:
                    index = (wanted or len(columns)) - 1
                    if index >= len(columns):
                        raise DataError(
                            f"{path} line {number}: tag column {wanted}, but the lines have {len(columns)} columns; "
                            "choose another --tag-column"
                        )
                    corpus.tag_column = str(index + 1)
            elif len(columns) != corpus.columns:
                raise DataError(
                    f"{path} line {number}: {len(columns)} columns where line {first} has {corpus.columns}; every "
                    "token line needs the same columns (token first, then tags), separated by a tab or spaces"
                )
            token = columns[0]
            if not token or any(char.isspace() for char in token):
                raise DataError(
                    f"{path} line {number}: token {token!r} is empty or holds a space; write one token per line, "
                    "its columns separated by tabs (or spaces when no column holds one)"
                )
            if index is not None:
                tag = columns[index]
                if not tag or any(char.isspace() for char in tag):
                    raise DataError(
                        f"{path} line {number}: tag {tag!r} (column {index + 1}) is empty or holds a space; "
                        "every token needs a tag"
                    )
                tags.append(tag)
            tokens.append(token)
            source.append(line)
        if tokens:
            corpus.sentences.append(TaggedSentence(tokens, tags if index is not None else None, block[0][0], source))
    return corpus


def tagged_from_tokens(sentences: list[list[str]]) -> TaggedCorpus:
    """An untagged corpus of sentences given as tokens (typed by a user, say), so its predictions can be written."""
    corpus = TaggedCorpus("<tokens>", "tokens", "2", [], {}, columns=1)
    for number, tokens in enumerate(sentences, 1):
        if not tokens:
            raise DataError(f"sentence {number} has no tokens; leave empty sentences out")
        if any(not token or any(char.isspace() for char in token) for token in tokens):
            raise DataError(f"sentence {number}: a token is empty or holds a space; split tokens at spaces")
        corpus.sentences.append(TaggedSentence(list(tokens), None, number))
    return corpus


def write_tagged(
    corpus: TaggedCorpus, tags: list[list[str]], path: str | Path, *, format: str | None = None, overwrite: bool = False
) -> None:
    """Write a copy of ``corpus`` tagged with ``tags`` (one list per sentence), atomically.

    Only the tag column changes: a file read and written back with its own tags is the same file, byte for byte
    (given ``\\n`` line ends, one blank line after each CoNLL-U sentence and none after a token file's last).
    ``format`` (default: the corpus's own) may differ from the corpus's: lines are then made up from the tokens.
    """
    path = Path(path)
    fmt = format or corpus.format
    if fmt not in TAGGED_FORMATS:
        raise DataError(f"unknown tagged format {fmt!r}; choose one of {', '.join(TAGGED_FORMATS)}")
    if path.exists() and not overwrite:
        raise DataError(f"{path}: exists; pass overwrite=True (--overwrite) to replace it, or choose another name")
    if len(tags) != len(corpus.sentences):
        raise DataError(
            f"{len(tags):,} tag lists for the {len(corpus.sentences):,} sentences of {corpus.path}; "
            "give one per sentence"
        )
    for sentence, sentence_tags in zip(corpus.sentences, tags, strict=True):
        if len(sentence_tags) != len(sentence.tokens):
            raise DataError(
                f"{corpus.path} line {sentence.line}: {len(sentence_tags)} tags for a sentence of "
                f"{len(sentence.tokens)} tokens; give one tag per token"
            )
        bad = [tag for tag in sentence_tags if not isinstance(tag, str) or not tag or any(c.isspace() for c in tag)]
        if bad:
            raise DataError(f"{corpus.path} line {sentence.line}: tag {bad[0]!r} is not a word; tags hold no spaces")
    text = _conllu_text(corpus, tags) if fmt == "conllu" else _tokens_text(corpus, tags)
    atomic_write_text(path, text)


def _conllu_text(corpus: TaggedCorpus, tags: list[list[str]]) -> str:
    index = CONLLU_COLUMNS.index(corpus.tag_column if corpus.tag_column in CONLLU_COLUMNS else "upos")
    lines: list[str] = []
    for sentence, sentence_tags in zip(corpus.sentences, tags, strict=True):
        if corpus.format == "conllu" and sentence.source is not None:
            words = iter(sentence_tags)
            for line in sentence.source:
                columns = line.split("\t")
                if line.startswith("#") or _RANGE.fullmatch(columns[0]) or _EMPTY_NODE.fullmatch(columns[0]):
                    lines.append(line)
                else:
                    columns[index] = next(words)
                    lines.append("\t".join(columns))
        else:
            lines.append("# text = " + " ".join(sentence.tokens))
            for number, (token, tag) in enumerate(zip(sentence.tokens, sentence_tags, strict=True), 1):
                columns = [str(number), token] + [_NO_TAG] * 8
                columns[index] = tag
                lines.append("\t".join(columns))
        lines.append("")
    return "\n".join(lines) + "\n"


def _tokens_text(corpus: TaggedCorpus, tags: list[list[str]]) -> str:
    keep = corpus.format == "tokens" and (corpus.columns or 1) > 1
    index = int(corpus.tag_column) - 1 if keep else 1
    sentences: list[str] = []
    for sentence, sentence_tags in zip(corpus.sentences, tags, strict=True):
        if keep and sentence.source is not None:
            lines = [
                _replace_column(line, index, tag) for line, tag in zip(sentence.source, sentence_tags, strict=True)
            ]
        else:
            if any(any(char.isspace() for char in token) for token in sentence.tokens):
                raise DataError(f"{corpus.path} line {sentence.line}: a token holds a space; write it as CoNLL-U")
            lines = [f"{token}\t{tag}" for token, tag in zip(sentence.tokens, sentence_tags, strict=True)]
        sentences.append("\n".join(lines))
    return "\n\n".join(sentences) + "\n"


def _replace_column(line: str, index: int, value: str) -> str:
    """``line`` with column ``index`` replaced and everything else (separators included) kept as it was."""
    if "\t" in line:
        columns = line.split("\t")
        columns[index] = value
        return "\t".join(columns)
    column = list(re.finditer(r"[^ ]+", line))[index]
    return line[: column.start()] + value + line[column.end() :]
