"""Contact details taken out of a child's message before staff outside the counselling team see it.

    scrub_contact_details("tên em là Lan, nhà em ở 12 Lê Lợi, sđt 0912 345 678")
    → "tên em là [tên], nhà em ở [địa chỉ], sđt [số điện thoại]"

Phone numbers, emails, street addresses and the names or addresses that follow the phrases children
use to give them ("tên em là", "em tên", "nhà em ở", "em ở số", "địa chỉ"…), typed with or without
diacritics. The patterns run on a folded copy of the text (lower case, no tone marks) that keeps
every character's position, so the original wording is kept around the placeholders.
"""
from __future__ import annotations

import re
import unicodedata

PHONE = "[số điện thoại]"
EMAIL = "[email]"
NAME = "[tên]"
ADDRESS = "[địa chỉ]"

_SPEAKERS = r"(?:em|minh|toi|con|chau|to|tui|t)"
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Vietnamese mobile and landline numbers (0…, +84…, 84…) and any other run of 9+ digits, with spaces,
# dots or dashes between digits as people type them.
_PHONE_RE = re.compile(r"(?<![\w])(?:\+?\s?84|0)(?:[\s.\-]?\d){8,10}(?![\w])|(?<![\w])\d(?:[\s.\-]?\d){8,}(?![\w])")
# "tên em là Lan", "ten minh la lan", "em tên Lan", "em tên là Nguyễn Thị Lan", "tên của em là…"
_NAME_TRIGGER_RE = re.compile(
    rf"\b(?:ten (?:cua )?{_SPEAKERS}(?: la)?|{_SPEAKERS} ten(?: la)?|{_SPEAKERS} la ban|goi {_SPEAKERS} la)\s+")
# Words that end a name: what a child says next ("em tên Lan, học lớp 5", "tên em là Lan và em…").
# Common given names (Minh, Nam, Hà, Hiền, Thị…) are never stop words.
_NAME_STOP = frozenset({"va", "nha", "o", "hoc", "lop", "tuoi", "dang", "bi", "ma", "em", "la", "nhe", "a",
                        "ah", "day", "song", "co", "khong", "roi", "cua", "voi", "nay", "ne", "oi", "vay", "sdt",
                        "so", "dia", "nhung"})
_NAME_MAX_WORDS = 4
# "nhà em ở …", "em ở số …", "địa chỉ (nhà em) (là) …", "em sống ở …", "số nhà …"
_ADDRESS_TRIGGER_RE = re.compile(
    rf"\b(?:nha (?:cua )?{_SPEAKERS} o|{_SPEAKERS} (?:song|o) (?:o|tai)|{_SPEAKERS} o(?= so\b)"
    rf"|dia chi(?: (?:cua )?(?:nha )?{_SPEAKERS})?(?: (?:la|o))?|so nha(?: {_SPEAKERS})?(?: la)?)\s*:?\s*")
# A street address with no phrase before it: "12 Lê Lợi", "số 5 ngõ 3", "hẻm 42/7", "thôn Đông".
_STREET_RE = re.compile(
    r"\b(?:so\s+)?\d+[a-z]?(?:/\d+)*\s+(?:duong|pho|ngo|ngach|hem|kiet)\s+[\w/]+(?:\s+[\w/]+){0,3}"
    r"|\b(?:duong|pho|ngo|ngach|hem|kiet|thon|xom|ap|to dan pho)\s+\d+[a-z]?(?:/\d+)*")
# "12 Lê Lợi": a house number before a capitalised street name (checked on the original text).
_NUMBERED_RE = re.compile(r"(?<!\w)\d+[a-zA-Z]?(?:/\d+)*\s+")
# An address runs to the end of its clause, at most this many characters.
_ADDRESS_END_RE = re.compile(r"[.!?;\n]|,\s*(?:va|con|em|minh|toi|nhung|ma|thi|sdt|so dien)\b")
_ADDRESS_MAX_CHARS = 80


def _fold_char(char: str) -> str:
    """One character folded to one character (positions stay aligned with the original)."""
    if char in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", char)[0]
    return base.lower() if len(base.lower()) == 1 else char


def fold_aligned(text: str) -> str:
    """Lower case, no diacritics, same length as `text` (NFC)."""
    return "".join(_fold_char(char) for char in text)


def _name_span(folded: str, start: int) -> int:
    """Where the name that starts at `start` ends (up to four words, before a stop word)."""
    end = start
    for count, word in enumerate(re.finditer(r"[^\W\d_]+", folded[start:])):
        gap = folded[end:start + word.start()]
        if count >= _NAME_MAX_WORDS or word.group(0) in _NAME_STOP or (count and gap.strip()):
            break
        end = start + word.end()
    return end


def _address_span(folded: str, start: int) -> int:
    stop = _ADDRESS_END_RE.search(folded, start)
    end = stop.start() if stop else len(folded)
    return min(end, start + _ADDRESS_MAX_CHARS)


def _spans(text: str, folded: str) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    spans += [(m.start(), m.end(), EMAIL) for m in _EMAIL_RE.finditer(folded)]
    spans += [(m.start(), m.end(), PHONE) for m in _PHONE_RE.finditer(folded)]
    for match in _NAME_TRIGGER_RE.finditer(folded):
        end = _name_span(folded, match.end())
        if end > match.end():
            spans.append((match.end(), end, NAME))
    for match in _ADDRESS_TRIGGER_RE.finditer(folded):
        end = _address_span(folded, match.end())
        if folded[match.end():end].strip():
            spans.append((match.end(), end, ADDRESS))
    for match in _STREET_RE.finditer(folded):
        spans.append((match.start(), _address_span(folded, match.start()), ADDRESS))
    for match in _NUMBERED_RE.finditer(text):
        if _looks_like_street(text, match.end()):
            spans.append((match.start(), _address_span(folded, match.start()), ADDRESS))
    return spans


def _looks_like_street(text: str, at: int) -> bool:
    """"12 Lê Lợi": a number followed by two capitalised words."""
    words = text[at:].split()[:2]
    return len(words) == 2 and all(word[:1].isupper() for word in words)


def scrub_contact_details(text: str) -> str:
    """`text` with phone numbers, emails, addresses and self-given names replaced by placeholders."""
    text = unicodedata.normalize("NFC", text)
    folded = fold_aligned(text)
    out: list[str] = []
    position = 0
    for start, end, placeholder in sorted(_spans(text, folded), key=lambda span: (span[0], -span[1])):
        if start < position:  # inside a span already replaced
            continue
        trimmed_end = len(text[:end].rstrip())
        out += [text[position:start], placeholder]
        position = max(trimmed_end, start)
    out.append(text[position:])
    return "".join(out)
