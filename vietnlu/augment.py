"""Build-time augmentation of the NLU training data.

For every example it adds a copy without diacritics, a chat-style copy (teencode, no
diacritics), the two ways children most often type, and a copy with the Central/Southern
first-person pronoun ("tui" for "em"). It then checks that no folded sentence
is labelled with two topics: that would teach the classifier a contradiction, so the build
fails and names the sentences.

The risk corpus (data/risk/*.jsonl, `--corpus`) adds its messages under their topics as they
are, without copies (it is already written in every style): a sentence that data/nlu or another
corpus line files under a different topic is left out, and the count is printed.

Usage: python -m vietnlu.augment data/nlu build/nlu/augmented.yml [--corpus data/risk]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

import yaml

from vietnlu.lexicon import Lexicon, load_default_lexicon
from vietnlu.text import nfc, strip_diacritics, tokenize

# Standard word → how it is often typed in chat. Applied to the diacritic-free copy.
CHAT_SPELLINGS: dict[str, list[str]] = {
    "khong": ["ko", "k", "hok", "hong", "khum"],
    "duoc": ["dc", "đc"],
    "gi": ["j"],
    "vay": ["z", "zay", "dzay"],
    "voi": ["vs"],
    "em": ["e"],
    "minh": ["mk", "mik"],
    "roi": ["r", "rui"],
    "biet": ["bit", "bik"],
    "qua": ["wa"],
    "nhieu": ["nhiu"],
    "thich": ["thik"],
    "cung": ["cx"],
    "nguoi": ["ng"],
    "moi nguoi": ["mn"],
    "lam": ["lm"],
    "nhu the nao": ["ntn"],
    "hom nay": ["hnay"],
    "muon": ["mun"],
    "di": ["ik"],
    "nhe": ["nha", "nhen"],
}


# First-person pronouns by region: children in the Centre and the South write "tui" where the
# North writes "em"; the training data is mostly written with "em".
PRONOUN_VARIANTS: dict[str, str] = {"em": "tui", "e": "tui"}


# "em" is not the writer after these words ("trẻ em", "thằng em", "anh em") or before these
# ("em ấy", "em họ", "em gái").
NOT_FIRST_PERSON_BEFORE = {
    "tre", "dua", "thang", "con", "anh", "chi", "chau", "cac", "be", "nhung", "may", "co", "thay",
}
NOT_FIRST_PERSON_AFTER = {"ai", "ho", "gai", "trai", "ut", "be", "no", "nho", "toi", "minh", "cua"}
# A copy that turns another child into the writer would teach the opposite of the label.
NO_PRONOUN_VARIANTS_FOR = {"report_third_party"}


def pronoun_variant(text: str) -> str:
    """`text` with the first-person "em" written the Central/Southern way ("tui")."""
    out = []
    cursor = 0
    tokens = tokenize(text)
    folded = [strip_diacritics(token).lower().replace("y", "i") for token, _ in tokens]
    for index, (token, start) in enumerate(tokens):
        replacement = PRONOUN_VARIANTS.get(token.lower())
        before = folded[index - 1] if index > 0 else ""
        after = folded[index + 1] if index + 1 < len(tokens) else ""
        if replacement and before not in NOT_FIRST_PERSON_BEFORE and after not in NOT_FIRST_PERSON_AFTER:
            out.append(text[cursor:start])
            out.append(replacement)
            cursor = start + len(token)
    out.append(text[cursor:])
    return "".join(out)


def _rng_for(text: str) -> random.Random:
    # A seed from the sentence itself: the same data always gives the same variants.
    return random.Random(int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], 16))


def chat_variant(text: str) -> str:
    """A diacritic-free, teencode copy of `text` (deterministic)."""
    rng = _rng_for(text)
    words = [strip_diacritics(tok).lower() for tok, _ in tokenize(text)]
    out: list[str] = []
    i = 0
    while i < len(words):
        for size in (3, 2, 1):
            phrase = " ".join(words[i : i + size])
            choices = CHAT_SPELLINGS.get(phrase)
            if choices and len(words[i : i + size]) == size and rng.random() < 0.7:
                out.append(rng.choice(choices))
                i += size
                break
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)


def read_examples(nlu_dir: Path) -> dict[str, list[str]]:
    """intent → examples, from every Rasa NLU YAML file under `nlu_dir`."""
    examples: dict[str, list[str]] = defaultdict(list)
    for path in sorted(nlu_dir.rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in doc.get("nlu") or []:
            if "intent" not in block:
                continue
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples[block["intent"]].append(nfc(line[2:].strip()))
    return examples


def find_conflicts(examples: dict[str, list[str]], lexicon: Lexicon) -> dict[str, set[str]]:
    """Folded sentence → intents, for sentences that appear under more than one intent."""
    owners: dict[str, set[str]] = defaultdict(set)
    for intent, texts in examples.items():
        for text in texts:
            owners[lexicon.normalise(text)].add(intent)
    return {folded: intents for folded, intents in owners.items() if len(intents) > 1}


def augment(examples: dict[str, list[str]], lexicon: Lexicon) -> dict[str, list[str]]:
    """Originals plus their diacritic-free and chat copies.

    A copy is kept only when the pipeline would see it differently from what is already there
    (its normalised form is new): the tokenizer folds diacritics and expands most teencode, so
    most copies add nothing but training time.
    """
    augmented: dict[str, list[str]] = {}
    for intent, texts in examples.items():
        seen: set[str] = set()
        out: list[str] = []
        for text in texts:
            variants = [text, strip_diacritics(text), chat_variant(text)]
            if intent not in NO_PRONOUN_VARIANTS_FOR:
                variants.append(pronoun_variant(text))
            for variant in variants:
                key = lexicon.normalise(variant)
                if variant and key not in seen:
                    seen.add(key)
                    out.append(variant)
        augmented[intent] = out
    return augmented


def read_corpus(corpus_dir: Path) -> dict[str, list[str]]:
    """topic → messages, from the risk corpus' JSONL files (lines without a topic are skipped)."""
    examples: dict[str, list[str]] = defaultdict(list)
    for path in sorted(corpus_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if row.get("text") and row.get("topic"):
                examples[str(row["topic"])].append(nfc(str(row["text"])).replace("\n", " "))
    return examples


def add_corpus(
    augmented: dict[str, list[str]], corpus: dict[str, list[str]], lexicon: Lexicon
) -> tuple[dict[str, list[str]], int]:
    """`augmented` plus the corpus messages whose folded form no other topic owns, and the
    number of messages left out for that reason."""
    owners: dict[str, set[str]] = defaultdict(set)
    for source in (augmented, corpus):
        for intent, texts in source.items():
            for text in texts:
                owners[lexicon.normalise(text)].add(intent)
    merged = {intent: list(texts) for intent, texts in augmented.items()}
    left_out = 0
    for intent, texts in corpus.items():
        seen = {lexicon.normalise(text) for text in merged.get(intent, [])}
        for text in texts:
            key = lexicon.normalise(text)
            if owners[key] != {intent}:
                left_out += 1
            elif key not in seen:
                seen.add(key)
                merged.setdefault(intent, []).append(text)
    return merged, left_out


def _quote(text: str) -> str:
    # Examples are written as YAML block-list items: keep them on one line.
    return text.replace("\n", " ")


def write_nlu(examples: dict[str, list[str]], out_path: Path) -> None:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    lines = ['version: "3.1"', "# Generated by vietnlu.augment from data/nlu: do not edit.", "nlu:"]
    for intent in sorted(examples):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines.extend(f"    - {_quote(text)}" for text in examples[intent])
    out_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nlu_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--corpus", type=Path, help="the risk corpus folder (JSONL with topics)")
    args = parser.parse_args(argv)

    examples = read_examples(args.nlu_dir)
    lexicon = load_default_lexicon()
    conflicts = find_conflicts(examples, lexicon)
    if conflicts:
        for folded, intents in sorted(conflicts.items()):
            print(f"conflict: {folded!r} is labelled {sorted(intents)}", file=sys.stderr)
        print(f"{len(conflicts)} folded sentence(s) under two topics: fix data/nlu", file=sys.stderr)
        return 1
    augmented = augment(examples, lexicon)
    augmented_conflicts = find_conflicts(augmented, lexicon)
    if augmented_conflicts:
        for folded, intents in sorted(augmented_conflicts.items()):
            print(f"conflict after augmentation: {folded!r} {sorted(intents)}", file=sys.stderr)
        return 1
    before = sum(len(v) for v in examples.values())
    after = sum(len(v) for v in augmented.values())
    if args.corpus is not None:
        augmented, left_out = add_corpus(augmented, read_corpus(args.corpus), lexicon)
        print(f"risk corpus: {sum(len(v) for v in augmented.values()) - after} messages added, "
              f"{left_out} left out (their sentence is filed under another topic)")
    write_nlu(augmented, args.out)
    print(f"augmented {before} examples in {len(examples)} intents to {after} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
