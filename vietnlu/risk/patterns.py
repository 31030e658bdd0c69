"""The pattern language of the risk lexicon, compiled to regexes over normalised text.

A pattern is words, "(a | b)" alternatives, "..." or "...N" gaps (at most 4 or N words) and "#"
for any number. Its words are folded and teencode-expanded like messages, compound nouns joined.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from vietnlu.lexicon import Lexicon
from vietnlu.text import fold_word

DEFAULT_GAP = 4
NUMBER_REGEX = r" \d+"  # "#" in a pattern: any number ("# tuổi", "lớp #")
_PATTERN_TOKEN_RE = re.compile(r"\(|\)|\||\.\.\.\d*|…\d*|[^\s()|]+")


class _Compounds:
    """Joins compound nouns ("trẻ em" → "tre_em") so their parts do not read as pronouns."""

    def __init__(self, phrases: Iterable[str], lexicon: Lexicon):
        folded = {" ".join(lexicon.lemmas([fold_word(w) for w in str(p).split()])) for p in phrases}
        folded = {p for p in folded if " " in p}
        self._regex = (
            re.compile(r"(?<= )({})(?= )".format("|".join(re.escape(p) for p in sorted(folded, key=len, reverse=True))))
            if folded
            else None
        )

    def join(self, padded: str) -> str:
        if self._regex is None:
            return padded
        return self._regex.sub(lambda m: m.group(0).replace(" ", "_"), padded)


def _compile_pattern(pattern: str, lexicon: Lexicon, compounds: _Compounds | None = None) -> str:
    """Translate one lexicon pattern into a regex over " " + normalised text + " ".

    Every word becomes " word" (leading space = word boundary), so optional groups and gaps
    compose without extra spaces; the caller adds the trailing (?= ) boundary.
    """
    tokens = _PATTERN_TOKEN_RE.findall(pattern)
    pos = 0

    def words_regex(words: list[str]) -> str:
        folded = [fold_word(w) for w in words]
        text = " " + " ".join(lexicon.lemmas(folded)) + " "
        if compounds is not None:
            text = compounds.join(text)
        return "".join(NUMBER_REGEX if w == "#" else " " + re.escape(w) for w in text.split())

    def parse_sequence(inside_group: bool) -> str:
        nonlocal pos
        parts: list[str] = []
        run: list[str] = []
        while pos < len(tokens):
            tok = tokens[pos]
            if tok in (")", "|"):
                if not inside_group:
                    raise ValueError(f"risk lexicon: unbalanced '{tok}' in {pattern!r}")
                break
            pos += 1
            if tok == "(":
                parts.append(words_regex(run))
                run = []
                parts.append(parse_group())
            elif tok.startswith(("...", "…")):
                parts.append(words_regex(run))
                run = []
                digits = tok.lstrip(".…")
                parts.append(r"(?: \S+){0,%d}" % (int(digits) if digits else DEFAULT_GAP))  # noqa: UP031
            else:
                run.append(tok)
        parts.append(words_regex(run))
        return "".join(parts)

    def parse_group() -> str:
        nonlocal pos
        alternatives = [parse_sequence(True)]
        while pos < len(tokens) and tokens[pos] == "|":
            pos += 1
            alternatives.append(parse_sequence(True))
        if pos >= len(tokens) or tokens[pos] != ")":
            raise ValueError(f"risk lexicon: missing ')' in {pattern!r}")
        pos += 1
        return "(?:" + "|".join(alternatives) + ")"

    regex = parse_sequence(False)
    if not regex.strip():
        raise ValueError(f"risk lexicon: empty pattern {pattern!r}")
    return regex


def _compile_patterns(
    patterns: Iterable[str], lexicon: Lexicon, compounds: _Compounds | None = None
) -> re.Pattern[str]:
    alternatives = [_compile_pattern(str(p), lexicon, compounds) for p in patterns]
    if not alternatives:
        raise ValueError("risk lexicon: an entry has no patterns")
    return re.compile("(?:" + "|".join(alternatives) + ")(?= )")


def _optional_patterns(value: Any, lexicon: Lexicon, compounds: _Compounds) -> re.Pattern[str] | None:
    patterns = _as_list(value)
    return _compile_patterns(patterns, lexicon, compounds) if patterns else None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
