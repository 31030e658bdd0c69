"""Vietnamese normalisation: NFC, lowercase, tone-mark folding, elongation collapse, tokens.

Children type with and without diacritics, so every comparison is made on the folded form:
"Bố đánh em" and "bo danh em" fold to the same "bo danh em".
"""
from __future__ import annotations

import re
import unicodedata

# Emoji and pictographs are kept as their own tokens: some carry meaning (😢 🔪 💊).
_EMOJI = (
    "\U0001F300-\U0001FAFF"  # symbols, pictographs, emoticons, supplemental
    "\u2600-\u27BF"  # misc symbols, dingbats (☹ ✂ ❤)
    "\U0001F000-\U0001F2FF"
)
_TOKEN_RE = re.compile(rf"[^\W_]+|[{_EMOJI}]", re.UNICODE)
# Folded Vietnamese never doubles a letter except "uu" (cứu, hưu) and "oo" (xoong): any other
# doubled letter is chat elongation ("roii", "nhaaa"). A run of three or more u becomes two
# ("cuuuu" → "cuu", i.e. cứu); of three or more o, one ("chàoooo" → "chao"): "oo" is only in a
# few loanwords (xoong, boong), typed with two.
_ELONGATION_RE = re.compile(r"([a-np-tv-z])\1+|(o)\2{2,}|(u)\3{2,}")


def nfc(text: str) -> str:
    """Unicode NFC: composed and decomposed Vietnamese input become the same string."""
    return unicodedata.normalize("NFC", text)


def strip_diacritics(text: str) -> str:
    """Remove tone and vowel marks, map đ→d; keeps case."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def fold_word(word: str) -> str:
    """Fold one word: lowercase, no diacritics, y→i, elongations collapsed ("nhaaa"→"nha")."""
    folded = strip_diacritics(nfc(word).lower())
    folded = _ELONGATION_RE.sub(lambda m: m.group(1) or m.group(2) or m.group(3) * 2, folded)
    # "y" and "i" are spelled interchangeably in chat and in old/new orthography (ly/li, quy/qui).
    return folded.replace("y", "i")


def tokenize(text: str) -> list[tuple[str, int]]:
    """Split into word and emoji tokens with their start offsets in the NFC text."""
    normalised = nfc(text)
    return [(m.group(0), m.start()) for m in _TOKEN_RE.finditer(normalised)]


def fold(text: str) -> str:
    """Folded form of a whole text, tokens joined by single spaces (punctuation dropped)."""
    return " ".join(fold_word(token) for token, _ in tokenize(text))


def is_emoji(token: str) -> bool:
    return bool(token) and bool(re.fullmatch(rf"[{_EMOJI}]", token))
