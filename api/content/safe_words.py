"""The writing rules of docs/content.md as checks: what a child or parent reads is safe, short and in one voice.

Pure (standard library only, Python 3.10) so the content console, the Rasa-side tests and the
domain tests share one set of rules. `check_response(name, variations)` returns the warnings, in
Vietnamese with the English after a slash, one per problem and variation; an empty list is a pass.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# --- which responses each rule covers (by name) ----------------------------------------------------
FALLBACK_RESPONSES = frozenset({"utter_clarify", "utter_default", "utter_out_of_scope", "utter_service_unavailable",
                                "utter_non_text"})
# The first bubble of a reply to a message in danger: short, one action, every emergency number.
CRISIS_FIRST_RESPONSES = frozenset({"utter_imminent_safety", "utter_imminent_self_harm"})
# Sent after a message rated high or imminent: the case is already with a counselor, nothing to ask.
AFTER_ESCALATION_PREFIXES = ("utter_disclosure", "utter_imminent", "utter_concern", "utter_counselor_told")
# Sent when the child may not be looking at the chat: the phone's notification shows the start.
CHECKIN_RESPONSES = frozenset({"utter_checkin"})
NOTIFICATION_RESPONSES = frozenset({"utter_handoff_joined"})
# Read by parents and teachers: the words of the law and of adults are allowed there.
ADULT_RESPONSE_PREFIXES = ("utter_ask_signs_of_abuse", "utter_ask_talk_to_child")
FAQ_PREFIX = "utter_ask_"

# --- limits ----------------------------------------------------------------------------------------
CRISIS_FIRST_MAX_SYLLABLES = 40
BUBBLE_MAX_SYLLABLES = 90
FAQ_MAX_BULLETS = 3
PREVIEW_CHARS = 100
MORE_BUTTON_TITLE = "Xem thêm"

# --- patterns --------------------------------------------------------------------------------------
_I = re.IGNORECASE
HOTLINE = re.compile(r"(?<!\d)111(?!\d)")
EMERGENCY_NUMBERS = re.compile(r"(?<!\d)(111|113|115)(?!\d)")
_SYLLABLE = re.compile(r"[^\W\d_]+|\d+")
_BULLET = re.compile(r"^\s*(•|-|\*|\d+[.)])\s", re.MULTILINE)
# Promising that what the child says stays secret...
SECRECY_PROMISE = re.compile(
    r"(được|sẽ được|luôn được|đều được|sẽ|luôn)\s+(giữ\s+kín|giữ\s+bí\s+mật|bảo\s+mật)"
    r"|giữ\s+(kín|bí\s+mật)\s+cho\s+bạn|tuyệt\s+đối\s+bí\s+mật|không\s+ai\s+(khác\s+)?(biết|được\s+biết)", _I)
# ...is allowed only with who may be told and why.
SHARING_SAID = re.compile(
    r"trừ\s+khi|có\s+thể\s+(báo|kể|nhờ|cho\s+biết)|để\s+giữ\s+(cho\s+)?(bạn|trẻ|con|bạn\s+ấy)\s+(được\s+)?an\s+toàn"
    r"|nhiệm\s+vụ\s+bảo\s+vệ\s+trẻ\s+em", _I)
COUNSELOR_QUESTION = re.compile(r"muốn\s+(nói\s+chuyện|trò\s+chuyện|gặp)\s+với\s+(một\s+)?tư\s+vấn\s+viên\s+không", _I)
# Advice that can provoke someone who is still there. A match right after "đừng/không/chớ" is the
# opposite advice ("đừng cãi lại") and passes.
PROVOKING = re.compile(
    r"\bhét\b|\bla\s+(to|lớn|lên)\b|\bkêu\s+(to|lớn|thật\s+to)\b|đối\s+chất|\bcãi\s+(lại|nhau)\b|đánh\s+(lại|trả)"
    r"|chống\s+lại|hỏi\s+thẳng", _I)
_NEGATION_BEFORE = re.compile(r"(đừng|không|chớ|không\s+nên)\s+(\S+\s+){0,2}$", _I)
# One form of address: the bot is "mình", the reader "bạn" ("trẻ em" is a noun, not an address).
OTHER_ADDRESS = re.compile(r"(?<!trẻ\s)\bem\b|\banh\s+chị\s+tư\s+vấn\s+viên\b|\bcháu\b", _I)
# Words an 8-year-old may not know, with what to write instead.
HARD_WORDS: dict[str, str] = {
    "xâm hại": "làm hại, chạm vào vùng riêng tư",
    "24/7": "cả ngày lẫn đêm",
    "đối chất": "hỏi thẳng người đó (và khuyên đừng làm)",
    "tra hỏi": "hỏi dồn",
    "sa sút": "đi xuống",
    "chế độ riêng tư": "chỉ bạn bè thật mới xem được",
    "mã hoá": "cất giữ cẩn thận",
    "mã hóa": "cất giữ cẩn thận",
    "ủy ban nhân dân": "cán bộ xã, phường",
    "uỷ ban nhân dân": "cán bộ xã, phường",
    "trực tuyến": "đang trực",
    "bạo hành": "đánh, làm đau",
    "nạn nhân": "bạn bị làm hại",
}
# Since 1 July 2025 there is no district level: a text naming one is out of date.
DISTRICT_WORDS = re.compile(r"\b(huyện|quận|thị\s+xã|cấp\s+huyện)\b", _I)
# What a notification preview must not show: the hotline, a risk word, the topic of the service.
PREVIEW_WORDS = re.compile(
    r"(?<!\d)(111|113|115)(?!\d)|xâm\s+hại|bạo\s+lực|bạo\s+hành|bắt\s+nạt|tự\s+tử|tự\s+làm\s+hại|làm\s+hại"
    r"|tình\s+dục|lạm\s+dụng|nguy\s+hiểm|bị\s+đánh|bị\s+thương|đe\s+dọa|dọa|tố\s+cáo|công\s+an|tổng\s+đài"
    r"|bảo\s+vệ\s+trẻ\s+em|tư\s+vấn\s+viên|chuyện\s+bạn\s+kể|an\s+toàn", _I)


def syllables(text: str) -> int:
    """Vietnamese syllables are written apart: words and numbers count, emoji and punctuation do not."""
    return len(_SYLLABLE.findall(text))


def bullets(text: str) -> int:
    return len(_BULLET.findall(text))


def promises_secrecy(text: str) -> bool:
    """True when the text promises secrecy without saying who may be told and why."""
    return bool(SECRECY_PROMISE.search(text)) and not SHARING_SAID.search(text)


def asks_about_counselor(text: str, buttons: Iterable[Mapping[str, Any]] = ()) -> bool:
    later = any(str(b.get("payload") or "").startswith("/deny") for b in buttons)
    return bool(COUNSELOR_QUESTION.search(text)) or later


def provoking_advice(text: str) -> list[str]:
    """Advice to shout, argue or confront, unless it is said not to ("đừng cãi lại")."""
    found = []
    for match in PROVOKING.finditer(text):
        if not _NEGATION_BEFORE.search(text[max(0, match.start() - 30):match.start()]):
            found.append(match.group(0))
    return found


def hard_words(text: str) -> list[str]:
    lowered = text.lower()
    return [word for word in HARD_WORDS if word in lowered]


def other_address(text: str) -> list[str]:
    return [m.group(0) for m in OTHER_ADDRESS.finditer(text)]


def preview_words(text: str, chars: int | None = PREVIEW_CHARS) -> list[str]:
    shown = text if chars is None else text[:chars]
    return [m.group(0) for m in PREVIEW_WORDS.finditer(shown)]


def _is(name: str, prefixes: Iterable[str]) -> bool:
    return any(name.startswith(prefix) for prefix in prefixes)


def check_variation(name: str, text: str, buttons: Iterable[Mapping[str, Any]] = ()) -> list[str]:
    """The rules one variation of the response `name` breaks (empty: none)."""
    buttons = list(buttons)
    problems: list[str] = []
    if promises_secrecy(text):
        problems.append("hứa giữ bí mật mà không nói ai có thể được biết và vì sao / promises secrecy without "
                        "saying who may be told and why")
    if _is(name, AFTER_ESCALATION_PREFIXES) and asks_about_counselor(text, buttons):
        problems.append("hỏi có muốn gặp tư vấn viên sau tin nhắn nguy cơ cao: ca đã được báo, hãy nói "
                        "tư vấn viên đã được báo / asks about a counselor after a high-risk message")
    if name.startswith("utter_imminent"):
        for word in provoking_advice(text):
            problems.append(f"khuyên làm điều có thể khiến người kia nổi giận (“{word}”) / advice that can "
                            f"provoke: {word!r}")
    if name in CRISIS_FIRST_RESPONSES:
        count = syllables(text)
        if count > CRISIS_FIRST_MAX_SYLLABLES:
            problems.append(f"tin khẩn cấp đầu tiên dài {count} tiếng (tối đa {CRISIS_FIRST_MAX_SYLLABLES}) / "
                            f"crisis first bubble has {count} syllables")
        for number in ("111", "113", "115"):
            if not re.search(rf"(?<!\d){number}(?!\d)", text):
                problems.append(f"tin khẩn cấp thiếu số {number} / crisis reply lacks {number}")
    if name in FALLBACK_RESPONSES and not HOTLINE.search(text):
        problems.append("câu trả lời khi chưa hiểu phải có số 111 / a fallback must give 111")
    count = syllables(text)
    if count > BUBBLE_MAX_SYLLABLES:
        problems.append(f"dài {count} tiếng (tối đa {BUBBLE_MAX_SYLLABLES}): tách phần sau ra nút "
                        f"“{MORE_BUTTON_TITLE}” / {count} syllables, too long for a phone")
    if name.startswith(FAQ_PREFIX) and bullets(text) > FAQ_MAX_BULLETS:
        problems.append(f"có {bullets(text)} gạch đầu dòng (tối đa {FAQ_MAX_BULLETS}), phần còn lại để sau nút "
                        f"“{MORE_BUTTON_TITLE}” / more than {FAQ_MAX_BULLETS} bullets")
    for word in other_address(text):
        problems.append(f"xưng hô “{word}”: bot xưng “mình”, gọi “bạn” / one form of address (mình/bạn)")
    if not _is(name, ADULT_RESPONSE_PREFIXES):
        for word in hard_words(text):
            problems.append(f"từ khó “{word}”: viết “{HARD_WORDS[word]}” / hard word {word!r}")
    for match in DISTRICT_WORDS.finditer(text):
        problems.append(f"“{match.group(0)}”: từ 1/7/2025 không còn cấp huyện; dùng tỉnh/thành và xã/phường / "
                        f"no districts since July 2025")
    if name in CHECKIN_RESPONSES:
        for word in preview_words(text, None) + preview_words(" ".join(str(b.get("title") or "") for b in buttons),
                                                              None):
            problems.append(f"tin hỏi thăm không được có “{word}” (người khác có thể thấy trên màn hình khoá) / "
                            f"check-in shows {word!r}")
    if name in NOTIFICATION_RESPONSES:
        for word in preview_words(text):
            problems.append(f"{PREVIEW_CHARS} ký tự đầu hiện trên thông báo: bỏ “{word}” ra sau / the "
                            f"notification preview shows {word!r}")
    return problems


def check_response(name: str, variations: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every warning for a response, each prefixed with its variation's number."""
    warnings = []
    for position, variation in enumerate(variations, start=1):
        text = str(variation.get("text") or "")
        for problem in check_variation(name, text, variation.get("buttons") or []):
            warnings.append(f"Biến thể {position}: {problem}")
    return warnings


def check_broadcast(text: str, buttons: Iterable[Mapping[str, Any]] = ()) -> list[str]:
    """The general rules for a broadcast's text and buttons (it is read like any bot message)."""
    return check_variation("broadcast", text, buttons)


def check_quiz(questions: Iterable[Mapping[str, Any]]) -> list[str]:
    """The general rules for every question, option and explanation of a quiz."""
    warnings = []
    for number, question in enumerate(questions, start=1):
        parts = [str(question.get("text") or ""), str(question.get("explanation") or "")]
        parts += [str(option) for option in question.get("options") or []]
        for part in parts:
            for problem in check_variation("quiz", part):
                warnings.append(f"Câu {number}: {problem}")
    return warnings


def check_directory_entry(entry: Mapping[str, Any]) -> list[str]:
    """The voice and word rules for what a child reads of a directory entry (its name and hours)."""
    text = " ".join(str(entry.get(field) or "") for field in ("name", "hours"))
    problems = [f"xưng hô “{word}”: bot xưng “mình”, gọi “bạn” / one form of address (mình/bạn)"
                for word in other_address(text)]
    problems += [f"từ khó “{word}”: viết “{HARD_WORDS[word]}” / hard word {word!r}" for word in hard_words(text)]
    return problems
