"""How closely TreebankTokenizer splits raw text as UD English EWT does, scored on the treebank's own sentences.

For each sentence, the raw text is its ``# text = ...`` comment; the gold tokens are its syntactic words (word
lines; multiword-token ranges such as ``3-4`` and empty nodes such as ``8.1`` skipped), so "don't" is gold "do"
"n't". In EWT every multiword token's words spell its surface form; should one not, its range line's FORM is taken
as one gold unit instead of its words (and counted in "multiword tokens as one unit"). Tokens are compared by
their character spans in the text (``token_spans``): a predicted token is right when a gold token has its span.

A disagreement is a stretch of text where the two tokenizations cut differently, aligned so that both sides cover
the same characters; its kind is the pair of splits with letter runs written "a" and digit runs "9".

Tune on dev; the test figures are only for the report.
Usage: python benchmarks/tokenizer_ewt.py [--split dev|test] [--data ../shared/datasets/ud_english_ewt]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from rnnkit.text.tokenizers import TreebankTokenizer, token_spans

Spans = list[tuple[int, int]]


def read_conllu(path: Path) -> tuple[list[tuple[str, list[str]]], int]:
    """``(text, gold units)`` per sentence, and how many multiword tokens became one unit (words not spelling it)."""
    sentences, text, units, merged = [], None, [], 0
    lines = path.read_text(encoding="utf-8").split("\n")
    skip_to = 0  # the last word id of a multiword token taken whole
    for i, line in enumerate(lines):
        if line.startswith("# text = "):
            text = line[len("# text = ") :]
        elif not line.strip():
            if units:
                sentences.append((text, units))
            text, units, skip_to = None, [], 0
        elif not line.startswith("#"):
            cells = line.split("\t")
            if "." in cells[0]:
                continue
            if "-" in cells[0]:
                first, last = map(int, cells[0].split("-"))
                words = [lines[i + 1 + k].split("\t")[1] for k in range(last - first + 1)]
                if "".join(words) != cells[1]:
                    units.append(cells[1])
                    skip_to, merged = last, merged + 1
                continue
            if int(cells[0]) > skip_to:
                units.append(cells[1])
    return sentences, merged


def shape(piece: str) -> str:
    return re.sub(r"[^\W\d_]+", "a", re.sub(r"\d+", "9", piece))


def disagreements(text: str, gold: Spans, predicted: Spans) -> list[tuple[str, str]]:
    """The stretches where the two cut differently, as (gold pieces, predicted pieces), pieces joined by spaces."""
    found, g, p = [], 0, 0
    while g < len(gold) and p < len(predicted):
        gold_block, predicted_block = [gold[g]], [predicted[p]]
        g, p = g + 1, p + 1
        while gold_block[-1][1] != predicted_block[-1][1]:  # extend the side that ends first until both end together
            if gold_block[-1][1] < predicted_block[-1][1]:
                gold_block.append(gold[g])
                g += 1
            else:
                predicted_block.append(predicted[p])
                p += 1
        if gold_block != predicted_block:
            found.append(tuple(" ".join(text[s:e] for s, e in block) for block in (gold_block, predicted_block)))
    return found


def evaluate(path: Path) -> None:
    sentences, merged = read_conllu(path)
    tokenizer = TreebankTokenizer()
    right = n_gold = n_predicted = exact = 0
    kinds: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], Counter[tuple[str, str]]] = {}
    for text, units in sentences:
        gold, predicted = token_spans(text, units), token_spans(text, tokenizer(text))
        if gold is None or predicted is None:
            raise ValueError(f"tokens do not spell the text of {text!r}")
        right += len(set(gold) & set(predicted))
        n_gold, n_predicted, exact = n_gold + len(gold), n_predicted + len(predicted), exact + (gold == predicted)
        for pair in disagreements(text, gold, predicted):
            kind = (" ".join(map(shape, pair[0].split())), " ".join(map(shape, pair[1].split())))
            kinds[kind] += 1
            examples.setdefault(kind, Counter())[pair] += 1
    precision, recall = right / n_predicted, right / n_gold
    f1 = 2 * precision * recall / (precision + recall)
    print(f"{path.name}: {len(sentences)} sentences, {n_gold} gold tokens, {n_predicted} predicted")
    print(f"  multiword tokens as one unit (words not spelling the surface): {merged}")
    print(f"  token precision {100 * precision:.2f}%  recall {100 * recall:.2f}%  F1 {100 * f1:.2f}%")
    print(f"  sentences tokenised exactly: {100 * exact / len(sentences):.2f}% ({exact}/{len(sentences)})")
    print(f"  {sum(kinds.values())} disagreements; the 15 most frequent kinds (gold | predicted, e.g.):")
    for kind, count in kinds.most_common(15):
        (gold_example, predicted_example), _ = examples[kind].most_common(1)[0]
        print(f"  {count:5d}  {kind[0]!r:>14} | {kind[1]!r:<14} e.g. {gold_example!r} | {predicted_example!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/ud_english_ewt"))
    args = parser.parse_args()
    evaluate(args.data / f"en_ewt-ud-{args.split}.conllu")


if __name__ == "__main__":
    main()
