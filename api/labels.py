"""The Vietnamese names staff see for the codes the system stores: risk levels, case statuses,
categories, channels, roles, note kinds, outcomes, message authors, risk signals and the buttons a
child taps. One mapping for every console: the case API and the content console import it, the
browser UIs read it from GET /api/v1/labels (`as_json()`).

Pure data and small functions, no imports from the rest of the gateway, so any package may use it.

    category_label("disclose_sexual_abuse")      # "Xâm hại tình dục"
    signal_label("lex:sexual_abuse:sờ chỗ kín")  # "Từ ngữ về xâm hại tình dục: “sờ chỗ kín”"
    button_label("/affirm")                      # "Có"
"""
from __future__ import annotations

import json
import re
from typing import Any

LEVELS = {"none": "Không có rủi ro", "concern": "Cần theo dõi", "high": "Nghiêm trọng", "imminent": "Khẩn cấp"}
STATUSES = {"open": "Trợ lý đang trò chuyện", "waiting": "Chờ nhận", "active": "Đang tư vấn", "closed": "Đã đóng"}
CHANNELS = {"telegram": "Telegram", "zalo": "Zalo", "web": "Trò chuyện trên web"}
ROLES = {"counselor": "Tư vấn viên", "supervisor": "Giám sát", "admin": "Quản trị",
         "campaign_staff": "Cán bộ chiến dịch"}
AUTHORS = {"child": "Trẻ", "bot": "Trợ lý", "counselor": "Tư vấn viên", "system": "Hệ thống"}
NOTE_KINDS = {"note": "Ghi chú", "handback": "Trả lại cho trợ lý", "close": "Đóng ca",
              "close_reason": "Lý do đóng ca chưa ai nhận", "transfer": "Chuyển ca"}
OUTCOMES = {"advised": "Đã tư vấn", "referred_111": "Đã chuyển tổng đài 111",
            "referred_police_local": "Đã chuyển công an / chính quyền địa phương", "closed": "Đóng ca, không cần thêm"}

# What a case or a message is about: the disclosure topics of the label contract, the other topics
# (a case opened by a request for a person), and the categories of the risk lexicon.
CATEGORIES = {
    "disclose_sexual_abuse": "Xâm hại tình dục",
    "disclose_physical_abuse": "Bạo lực thể chất",
    "disclose_online_abuse": "Xâm hại trên mạng",
    "disclose_bullying": "Bị bắt nạt",
    "disclose_neglect": "Bị bỏ mặc, bóc lột",
    "disclose_self_harm": "Tự hại, ý nghĩ tự tử",
    "report_third_party": "Báo tin trẻ khác bị hại",
    "request_counselor": "Muốn nói chuyện với tư vấn viên",
    "greet": "Chào hỏi", "goodbye": "Tạm biệt", "thank": "Cảm ơn", "affirm": "Đồng ý", "deny": "Từ chối",
    "bot_challenge": "Hỏi có phải người thật", "out_of_scope": "Chuyện khác",
    "ask_hotline_111": "Hỏi về tổng đài 111", "ask_report_abuse": "Hỏi cách báo tin xâm hại",
    "ask_body_safety": "Hỏi về an toàn cơ thể", "ask_online_safety": "Hỏi về an toàn trên mạng",
    "ask_bullying_help": "Hỏi về bắt nạt", "ask_signs_of_abuse": "Hỏi dấu hiệu bị xâm hại",
    "ask_talk_to_child": "Hỏi cách nói chuyện với con", "ask_child_rights": "Hỏi về quyền trẻ em",
    "ask_campaign": "Hỏi về chiến dịch",
    "self_harm": "tự hại, tự tử", "sexual_abuse": "xâm hại tình dục", "physical_violence": "bạo lực thể chất",
    "online_abuse": "xâm hại trên mạng", "trafficking_forced_labour": "mua bán người, lao động cưỡng bức",
    "neglect": "bỏ mặc", "bullying": "bắt nạt", "immediate_danger": "nguy hiểm ngay lúc này",
    "danger_now": "Nguy hiểm ngay lúc này", "violence_now": "Đang bị bạo lực",
}
UNKNOWN_CATEGORY = "Chưa rõ chủ đề"

# Buttons: a tap arrives as the button's payload ("/affirm", '/ask_hotline_111{"detail":"more"}',
# "/quiz 3"); staff see what the child tapped.
BUTTONS = {
    "affirm": "Có", "deny": "Không", "thank": "Mình ổn, cảm ơn", "greet": "Chào", "goodbye": "Tạm biệt",
    "request_counselor": "Nói chuyện với tư vấn viên", "bot_challenge": "Bạn là người hay máy?",
    "ask_hotline_111": "Số 111 là gì?", "ask_report_abuse": "Báo tin thế nào?",
    "ask_body_safety": "Giữ an toàn cơ thể", "ask_online_safety": "An toàn trên mạng",
    "ask_bullying_help": "Bị bắt nạt thì sao?", "ask_signs_of_abuse": "Dấu hiệu cần để ý",
    "ask_talk_to_child": "Nói chuyện với con thế nào?", "ask_child_rights": "Quyền trẻ em",
    "ask_campaign": "Tháng hành động vì trẻ em", "quiz": "Chơi đố vui", "quiz_answer": "Trả lời câu đố",
}
BUTTON_DETAILS = {
    "more": "Xem thêm", "after": "Khi con vừa kể chuyện", "friend": "Giúp một người bạn",
    "phone": "Giữ điện thoại an toàn", "counselor": "Tư vấn viên là ai?", "privacy": "Ai đọc tin nhắn của mình?",
}
UNKNOWN_BUTTON = "một nút bấm"
TAPPED = "Bấm nút"

# Risk signals are "<kind>:<details>" (docs/architecture.md, "Parse result").
SIGNAL_KINDS = {
    "lex": "Từ ngữ về", "intent": "Trợ lý hiểu là", "intent2": "Cũng có thể là", "floor": "Chủ đề nghiêm trọng",
    "damp": "Giảm mức", "emoji": "Biểu tượng cảm xúc", "own": "Nói về chính mình",
    "third_party": "Kể về trẻ khác", "urgent": "Đang xảy ra ngay", "model": "Mô hình đọc",
    "context": "Đọc cùng các tin trước", "unknown": "Tín hiệu khác",
}
DAMPERS = {
    "hyperbole": "nói quá", "everyday": "chuyện thường ngày", "general": "câu hỏi chung",
    "hypothetical": "giả định", "story": "kể chuyện, phim, trò chơi", "joke": "đùa",
    "negation": "phủ định", "past_over": "chuyện đã qua", "bare_word": "chỉ nhắc từ, không rõ ai bị hại",
    "model": "mô hình thấy không có hại", "no_harm": "không có hại",
    "unbacked": "mô hình đọc rất yếu, quy tắc không thấy dấu hiệu hại",
    "topic": "mô hình đọc yếu, trợ lý hiểu là chuyện khác, không phải kể chuyện bị hại",
    "rules_topic": "chỉ có từ ngữ, mô hình và trợ lý đều không thấy chuyện bị hại",
}
MODEL_FACTORS = {"harm": "loại hại", "who": "ai bị hại", "when": "khi nào", "severity": "mức nặng"}
MODEL_VALUES = {
    "sexual": "tình dục", "physical": "thể chất", "online": "trên mạng", "bullying": "bắt nạt",
    "neglect": "bỏ mặc", "self_harm": "tự hại", "self": "chính trẻ", "other_child": "trẻ khác",
    "general": "hỏi chung", "story": "chuyện kể, trò chơi", "nobody": "không ai", "now": "ngay lúc này",
    "ongoing": "đang kéo dài", "over": "đã qua", "hypothetical": "giả định", "injury": "có thương tích",
    "means": "có phương tiện tự hại", "plan": "có kế hoạch", "confinement": "bị nhốt",
    "transport": "bị đưa đi", "farewell": "lời từ biệt", "abuser_present": "kẻ xâm hại đang ở gần",
    "none": "không",
}
LEVEL_INITIALS = {"n": "none", "c": "concern", "h": "high", "i": "imminent"}

# Which console each role works in; a page opened by another role says where to go instead.
CONSOLES = {
    "console": {"title": "Bảng điều khiển tư vấn viên", "path": "/console",
                "roles": ["counselor", "supervisor", "admin"], "for": "tư vấn viên và giám sát"},
    "content": {"title": "Quản lý nội dung", "path": "/content",
                "roles": ["campaign_staff", "admin", "supervisor"], "for": "cán bộ chiến dịch"},
}

_PAYLOAD = re.compile(r"^/(?P<intent>[A-Za-z0-9_]+)(?P<rest>.*)$", re.DOTALL)


def category_label(code: str | None) -> str:
    if not code:
        return UNKNOWN_CATEGORY
    return CATEGORIES.get(code, UNKNOWN_CATEGORY)


def _quoted(text: str) -> str:
    return f"“{text.strip()}”" if text.strip() else ""


def _percent(value: str) -> str:
    try:
        return f"{round(float(value) * 100)}%"
    except ValueError:
        return ""


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _model_label(details: str) -> str:
    """`high:n=0.01,c=0.10,h=0.81,i=0.08`, `harm=sexual`, `severity=injury`."""
    name, sep, value = details.partition("=")
    if sep and ":" not in name:
        factor = MODEL_FACTORS.get(name, name.replace("_", " "))
        return f"{SIGNAL_KINDS['model']} {factor}: {MODEL_VALUES.get(value, value.replace('_', ' '))}"
    level, _, probabilities = details.partition(":")
    chances = dict(part.split("=", 1) for part in probabilities.split(",") if "=" in part)
    chance = _percent(chances.get(level[:1], ""))
    return _join(f"{SIGNAL_KINDS['model']} mức: {LEVELS.get(level, level)}", f"({chance})" if chance else "")


def _damp_label(details: str) -> str:
    """`general:<phrase>`, `joke:<laugh>:<phrase>`, `negation:<category>:<phrase>`, `model:no_harm`,
    `model:unbacked`, `model:topic`, `rules:topic`."""
    name, _, rest = details.partition(":")
    if name == "rules" and rest == "topic":
        return f"{SIGNAL_KINDS['damp']}: {DAMPERS['rules_topic']}"
    if name == "model":
        return f"{SIGNAL_KINDS['damp']}: {DAMPERS[rest if rest in ('unbacked', 'topic') else 'model']}"
    first, sep, phrase = rest.partition(":")
    if sep and (first in CATEGORIES or name == "joke"):
        rest = phrase if first in CATEGORIES else f"{first} {phrase}"
    return _join(f"{SIGNAL_KINDS['damp']} ({DAMPERS.get(name, 'lý do khác')}):", _quoted(rest))


def signal_label(signal: str) -> str:
    """What one risk signal means, in Vietnamese, with the words of the message that fired it."""
    kind, _, details = signal.partition(":")
    if kind == "context":
        return (f"{SIGNAL_KINDS['context']} ({details} tin)" if details.isdigit()
                else f"{SIGNAL_KINDS['context']}: {signal_label(details)}")
    if kind == "model":
        return _model_label(details)
    if kind == "damp":
        return _damp_label(details)
    if kind in ("intent", "intent2", "floor"):
        topic, _, value = details.partition(":")
        extra = f"({_percent(value)})" if kind != "floor" and _percent(value) else _quoted(value)
        return _join(f"{SIGNAL_KINDS[kind]}: {category_label(topic)}", extra)
    if kind == "lex":
        category, _, phrase = details.partition(":")
        return _join(f"{SIGNAL_KINDS['lex']} {CATEGORIES.get(category, 'điều đáng lo')}:", _quoted(phrase))
    if kind in ("emoji", "own", "third_party", "urgent"):
        return _join(f"{SIGNAL_KINDS[kind]}:", details if kind == "emoji" else _quoted(details))
    return SIGNAL_KINDS["unknown"]


def button_label(text: str | None) -> str | None:
    """What the child tapped when `text` is a button payload; None for a typed message."""
    match = _PAYLOAD.match((text or "").strip())
    if match is None:
        return None
    intent, rest = match.group("intent"), match.group("rest").strip()
    detail = None
    if rest.startswith("{"):
        try:
            entities = json.loads(rest)
        except ValueError:
            entities = {}
        detail = entities.get("detail") if isinstance(entities, dict) else None
    if isinstance(detail, str) and detail in BUTTON_DETAILS:
        return BUTTON_DETAILS[detail]
    return BUTTONS.get(intent, UNKNOWN_BUTTON)


def shown_text(text: str | None) -> str:
    """A child's message as staff read it: a button tap as "Bấm nút: Có"."""
    tapped = button_label(text)
    return f"{TAPPED}: {tapped}" if tapped is not None else (text or "")


def as_json() -> dict[str, Any]:
    """Everything the browser UIs need to name what they show (GET /api/v1/labels)."""
    return {
        "levels": LEVELS, "statuses": STATUSES, "channels": CHANNELS, "roles": ROLES, "authors": AUTHORS,
        "note_kinds": NOTE_KINDS, "outcomes": OUTCOMES, "categories": CATEGORIES,
        "unknown_category": UNKNOWN_CATEGORY, "buttons": BUTTONS, "button_details": BUTTON_DETAILS,
        "unknown_button": UNKNOWN_BUTTON, "tapped": TAPPED, "signal_kinds": SIGNAL_KINDS, "dampers": DAMPERS,
        "model_factors": MODEL_FACTORS, "model_values": MODEL_VALUES, "consoles": CONSOLES,
    }
