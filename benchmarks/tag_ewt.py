"""Part-of-speech tagging on UD English EWT (universal tags, 17 of them): rnnkit's tagger, trained and measured.

Trains ``rnnkit.train(train.conllu, valid=dev.conllu, max_minutes=M, **settings)`` (the default configuration
unless ``--set`` changes it; ``--crf`` adds the CRF), the best epoch chosen on dev. Then reports, on dev and on
test: token accuracy and accuracy on words the model's vocabulary does not hold; tagging from raw text (each
sentence's ``# text``, split by the model's tokenizer) against the gold words, a gold word counting as right when a
predicted token has exactly its characters and its tag; training speed (sentences/s over the epochs run), prediction
speed (sentences/s over the test file, torch and onnxruntime, batches of 64; and one sentence at a time); and one
tagged sentence. Tune on dev; test is reported, never used to choose.

``--names`` measures a BIO entity task made from the same treebank (EWT has no named-entity layer): each maximal run
of PROPN words is a NAME chunk (``B-NAME``, ``I-NAME``, else ``O``), written as token-per-line files; figures are
entity precision/recall/F1 as conlleval counts them, and token accuracy.

Usage: python benchmarks/tag_ewt.py [--minutes 10] [--seed 0] [--crf] [--names] [--set KEY=VALUE ...] [--out DIR]
           [--data ../shared/datasets/ud_english_ewt] [--json benchmarks/logs/tag_ewt.json]
       python benchmarks/tag_ewt.py --model runs/tag_ewt     (measure a model trained earlier)
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import rnnkit
from rnnkit.data.tagged import read_tagged, tagged_from_tokens, write_tagged
from rnnkit.text.tokenizers import token_spans

EXAMPLE = "I couldn't find the Wi-Fi password, so I called Tom at 3:30 and he didn't answer."


def value(text: str):
    """``--set`` values: numbers, booleans and strings."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def raw_text_accuracy(tagger, path: Path) -> dict[str, float]:
    """Tagging from each sentence's raw ``# text``, scored on the gold words (spans and tags must both match)."""
    corpus = read_tagged(path)
    right = total = exact = 0
    for sentence in corpus.sentences:
        text = next(line[9:] for line in sentence.source if line.startswith("# text = "))
        gold = token_spans(text, sentence.tokens)
        tokens = tagger.tokenize(text)
        predicted = dict(zip(token_spans(text, tokens) or [], tagger.tag([tokens])[0], strict=False))
        total += len(sentence.tokens)
        if gold is None:
            continue  # words that do not spell the text (none in EWT): counted wrong
        hits = sum(predicted.get(span) == tag for span, tag in zip(gold, sentence.tags, strict=True))
        right += hits
        exact += hits == len(sentence.tokens) and len(tokens) == len(sentence.tokens)
    return {"raw_text_accuracy": right / total, "raw_text_sentences_exact": exact / len(corpus.sentences)}


def name_chunks(path: Path, out: Path) -> Path:
    """``path``'s sentences as a token file of BIO tags: maximal runs of PROPN words are NAME chunks."""
    corpus = read_tagged(path)
    tags = [
        ["O" if t != "PROPN" else "I-NAME" if i and s[i - 1] == "PROPN" else "B-NAME" for i, t in enumerate(s)]
        for s in corpus.tags
    ]
    write_tagged(tagged_from_tokens(corpus.tokens), tags, out, format="tokens", overwrite=True)
    return out


def speed(tagger, sentences: list[list[str]], repeats: int = 3) -> dict[str, float]:
    """Sentences per second: the whole list in batches of 64, and one sentence per call (the first 200)."""
    batched, single = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        tagger.tag(sentences, batch_size=64)
        batched.append(len(sentences) / (time.perf_counter() - start))
        start = time.perf_counter()
        for s in sentences[:200]:
            tagger.tag([s])
        single.append(200 / (time.perf_counter() - start))
    return {"batched": statistics.median(batched), "one_at_a_time": statistics.median(single)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[1] / "../shared/datasets/ud_english_ewt")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--crf", action="store_true")
    parser.add_argument("--names", action="store_true", help="the BIO task of PROPN runs instead of parts of speech")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="other rnnkit.train options")
    parser.add_argument("--out", default="runs/tag_ewt")
    parser.add_argument("--model", help="measure this trained model instead of training one")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    train, dev, test = (args.data / f"en_ewt-ud-{split}.conllu" for split in ("train", "dev", "test"))
    if args.names:
        folder = Path(args.out).with_name(Path(args.out).name + "_data")
        train, dev, test = (name_chunks(p, folder / f"{p.stem}.names.tsv") for p in (train, dev, test))

    figures: dict = {}
    if args.model:
        tagger = rnnkit.load(args.model, engine="torch")
    else:
        settings = dict(item.split("=", 1) for item in args.set)
        settings = {k.replace("-", "_"): value(v) for k, v in settings.items()} | ({"crf": True} if args.crf else {})
        start = time.perf_counter()
        tagger = rnnkit.train(
            train,
            task="tag",
            valid=str(dev),
            max_minutes=args.minutes,
            seed=args.seed,
            out=args.out,
            overwrite=True,
            **settings,
        )
        seconds = time.perf_counter() - start
        history = tagger.training["members"][0]["history"]
        sentences = tagger.training["train_sentences"] * len(history)
        figures |= {
            "settings": settings,
            "train_seconds": seconds,
            "epochs_run": len(history),
            "best_epoch": tagger.training["members"][0]["best_epoch"],
            "train_sentences_per_second": sentences / seconds,
            "dev_by_epoch": [round(r.get("valid_accuracy", 0), 4) for r in history],
        }
        tagger.engine = "torch"
    print(repr(tagger))
    for split, path in (("dev", dev), ("test", test)):
        report = tagger.evaluate(path)
        figures[split] = {
            "accuracy": report["accuracy"],
            "unseen_accuracy": report["unseen_accuracy"],
            "unseen_tokens": report["unseen_tokens"],
            "tokens": report["tokens"],
        }
        if args.names:
            entities = report["entities"]
            figures[split] |= {k: entities[k] for k in ("precision", "recall", "f1", "gold", "predicted", "correct")}
        else:
            figures[split] |= raw_text_accuracy(tagger, path)
        print(f"{split}: {json.dumps(figures[split])}")
    test_sentences = read_tagged(test).tokens
    figures["predict_sentences_per_second"] = {"torch": speed(tagger, test_sentences)}
    tagger.engine = "onnxruntime"
    figures["predict_sentences_per_second"]["onnxruntime"] = speed(tagger, test_sentences)
    figures["example"] = " ".join(f"{t}/{tag}" for t, tag in tagger.predict(EXAMPLE)[0])
    print(json.dumps({k: v for k, v in figures.items() if k not in ("dev", "test")}, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
