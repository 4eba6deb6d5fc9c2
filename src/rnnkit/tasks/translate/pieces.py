"""Sub-words: a SentencePiece model learnt from the training text, kept as the bytes of its serialized proto.

A translator needs an open vocabulary: a word never seen in training (a name, a number, a rare inflection) must
still be read and written. SentencePiece (Kudo & Richardson 2018, as Marian and OPUS-MT use it) cuts text into
pieces learnt from the training text; here with ``byte_fallback``, so a character never seen in training becomes its
UTF-8 bytes instead of ``<unk>``, and decoding puts them back together.

The model is data, not code: its serialized proto (``bytes``) is what a model directory stores beside a checksum,
and what :class:`Pieces` loads, without torch. Training is deterministic: one thread (SentencePiece's results depend
on the number of threads), a fixed seed for its sampling, and the text in the order given.

Normalisation is SentencePiece's ``nmt_nfkc``: NFKC, and every Unicode space (French puts U+202F before ``!`` and
``?``, U+00A0 inside ``« »`` and numbers, U+2009 now and then; Tatoeba writes them inconsistently) becomes an
ordinary space, so ``aime\u202f!`` and ``aime !`` are the same pieces and decode to ``aime !``. sacreBLEU's
tokenizers split on every Unicode space, so BLEU and chrF are unaffected by the choice.

Ids 0-3 are the specials rnnkit uses everywhere: ``<pad>`` 0 and ``<unk>`` 1 (as :class:`rnnkit.text.Vocab`), then
``<s>`` 2 (the decoder's first input) and ``</s>`` 3 (the end of a translation).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from rnnkit.errors import ModelFileError, RnnkitError

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
SPECIALS = 4
MODEL_TYPES = ("unigram", "bpe")
MAX_SENTENCES = 2_000_000  # sentences read to learn the pieces (drawn with the seed when there are more)
MAX_ALPHABET = 500  # more distinct characters (Chinese, Japanese): cover 99.95% of them, the rest as bytes


class Pieces:
    """A trained SentencePiece model: ``encode`` text to ids, ``decode`` ids to text, ``len`` its vocabulary."""

    def __init__(self, model: bytes, where: str = "a SentencePiece model") -> None:
        import sentencepiece

        try:
            processor = sentencepiece.SentencePieceProcessor(model_proto=model)
        except (RuntimeError, TypeError, OSError) as e:
            reason = str(e).splitlines()[0][:80] if str(e) else type(e).__name__
            raise ModelFileError(
                f"{where}: not a readable SentencePiece model ({reason}); the file is damaged"
            ) from None
        specials = (processor.pad_id(), processor.unk_id(), processor.bos_id(), processor.eos_id())
        if specials != (PAD_ID, UNK_ID, BOS_ID, EOS_ID) or processor.get_piece_size() < SPECIALS + 1:
            raise ModelFileError(
                f"{where}: a SentencePiece model without rnnkit's special ids (pad 0, unk 1, s 2, /s 3)"
            )
        self.model = bytes(model)
        self.processor = processor

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int,
        model_type: str = "unigram",
        seed: int = 0,
    ) -> Pieces:
        """Learn pieces from ``texts``: at most ``vocab_size`` of them (fewer when the text is too small for that
        many), deterministically for the same texts and seed."""
        import sentencepiece

        if model_type not in MODEL_TYPES:
            raise RnnkitError(f"sub-word model type must be one of {MODEL_TYPES}, got {model_type!r}")
        if vocab_size < SPECIALS + 1:
            raise RnnkitError(f"the sub-word vocabulary needs at least {SPECIALS + 1} pieces, got {vocab_size}")
        texts = [t for t in texts if t.strip()]
        if not texts:
            raise RnnkitError("no text to learn sub-words from")
        alphabet = len(set("".join(texts[:100_000])))
        buffer = io.BytesIO()
        sentencepiece.set_random_generator_seed(seed)
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter(texts),
                model_writer=buffer,
                vocab_size=vocab_size,
                model_type=model_type,
                character_coverage=1.0 if alphabet <= MAX_ALPHABET else 0.9995,
                byte_fallback=True,
                hard_vocab_limit=False,  # a small text gets the pieces it has instead of an error
                num_threads=1,  # the pieces depend on the number of threads: one, for the same model everywhere
                input_sentence_size=MAX_SENTENCES,
                shuffle_input_sentence=True,
                max_sentence_length=1 << 16,
                normalization_rule_name="nmt_nfkc",
                pad_id=PAD_ID,
                unk_id=UNK_ID,
                bos_id=BOS_ID,
                eos_id=EOS_ID,
                minloglevel=2,
            )
        except RuntimeError as e:
            needed = re.search(r"smaller than required_chars\. \d+ vs (\d+)", str(e))
            if needed is None:
                raise
            raise RnnkitError(
                f"{vocab_size} sub-words are too few for this text: it needs at least {needed.group(1)} (one per "
                "character, the 256 bytes and 4 specials); ask for more"
            ) from None
        return cls(buffer.getvalue())

    def __len__(self) -> int:
        return self.processor.get_piece_size()

    def __repr__(self) -> str:
        return f"Pieces({len(self)} pieces, sha256 {self.sha256[:12]})"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.model).hexdigest()

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's piece ids (no ``<s>`` or ``</s>``)."""
        return self.processor.encode(list(texts))

    def decode(self, ids: Sequence[Sequence[int]]) -> list[str]:
        """Each id sequence as text; specials are dropped."""
        return self.processor.decode([[int(i) for i in row if i >= SPECIALS] for row in ids])

    def pieces(self, text: str) -> list[str]:
        """The pieces of ``text`` as strings (``▁`` marks the start of a word), for showing them."""
        return self.processor.encode(text, out_type=str)

    def normalize(self, text: str) -> str:
        """``text`` as the model reads it (NFKC, Unicode spaces made ordinary), for comparing outputs with it."""
        return self.processor.normalize(text).replace("\u2581", " ").strip()


def pieces_of(saved: Any, where: str) -> tuple[Pieces, Pieces]:
    """The source's and the target's sub-word models of a read translator (its files ``source.spm`` and
    ``target.spm``), each checked to have as many pieces as the network was built for."""
    config = saved.config
    found = []
    for side, size in (("source", config.source_vocab_size), ("target", config.target_vocab_size)):
        pieces = Pieces(saved.files[f"{side}.spm"], f"{where}/{side}.spm")
        if len(pieces) != size:
            raise ModelFileError(f"{where}: {side}.spm has {len(pieces)} pieces but the model was built for {size}")
        found.append(pieces)
    return found[0], found[1]
