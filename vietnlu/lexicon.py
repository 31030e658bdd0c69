"""Teencode and dialect lexicon: maps folded chat spellings to folded standard words.

The lexicon is a data file (data/lexicon/teencode.yml) so reviewers can extend it without
touching code. Single words may expand to several words; phrases map word for word, so every
typed token keeps exactly one standard form (its lemma).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from vietnlu.text import fold_word, tokenize

DEFAULT_LEXICON_PATH = Path(__file__).resolve().parent.parent / "data" / "lexicon" / "teencode.yml"
WORD_SECTIONS = ("teencode", "english", "dialect_central", "dialect_south")


def _fold_words(text: str) -> tuple[str, ...]:
    return tuple(fold_word(w) for w in str(text).split())


@dataclass(frozen=True)
class Lexicon:
    """Folded token → folded replacement, and folded phrases → word-for-word replacements."""

    words: dict[str, str] = field(default_factory=dict)
    phrases: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str = DEFAULT_LEXICON_PATH) -> Lexicon:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        words: dict[str, str] = {}
        for section in WORD_SECTIONS:
            for source, target in (raw.get(section) or {}).items():
                if not isinstance(source, str) or not isinstance(target, str):
                    # YAML reads bare yes/no/on/off as booleans: such keys must be quoted.
                    raise ValueError(f"lexicon: quote the entry {source!r}: {target!r} in {section}")
                key = fold_word(source)
                value = " ".join(_fold_words(target))
                if key in words and words[key] != value:
                    raise ValueError(f"lexicon: {source!r} maps to both {words[key]!r} and {value!r}")
                words[key] = value
        phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        for source, target in (raw.get("phrases") or {}).items():
            phrase, replacement = _fold_words(source), _fold_words(target)
            if len(phrase) < 2 or len(phrase) != len(replacement):
                raise ValueError(f"lexicon phrase {source!r} must map word for word to {target!r}")
            phrases[phrase] = replacement
        return cls(words=words, phrases=phrases)

    def lemmas(self, folded_tokens: list[str]) -> list[str]:
        """One standard (folded) form per token; phrases win over single words."""
        out: list[str] = []
        longest = max((len(k) for k in self.phrases), default=0)
        i = 0
        while i < len(folded_tokens):
            for size in range(min(longest, len(folded_tokens) - i), 1, -1):
                replacement = self.phrases.get(tuple(folded_tokens[i : i + size]))
                if replacement:
                    out.extend(replacement)
                    i += size
                    break
            else:
                out.append(self.words.get(folded_tokens[i], folded_tokens[i]))
                i += 1
        return out

    def normalise_tokens(self, text: str) -> list[tuple[str, int, str]]:
        """Tokens of `text` as (surface, start offset, standard folded form)."""
        tokens = tokenize(text)
        lemmas = self.lemmas([fold_word(tok) for tok, _ in tokens])
        return [(tok, start, lemma) for (tok, start), lemma in zip(tokens, lemmas, strict=True)]

    def normalise(self, text: str) -> str:
        """The whole text folded and expanded: what classifiers and the risk lexicon see."""
        return " ".join(lemma for _, _, lemma in self.normalise_tokens(text))


@lru_cache(maxsize=4)
def load_default_lexicon(path: str = str(DEFAULT_LEXICON_PATH)) -> Lexicon:
    return Lexicon.load(path)
