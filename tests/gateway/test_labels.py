"""api/labels.py: a Vietnamese name for every code staff may see (categories of the risk vocabulary
and lexicon, channels, roles, outcomes, note kinds, signals, the buttons of domain.yml), and
GET /api/v1/labels serving them to signed-in staff."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from api import labels
from api.auth.models import ROLES
from api.cases.closing import REASON_NOTE
from api.cases.models import CASE_STATUSES, MESSAGE_AUTHORS, OUTCOMES
from api.main import CHANNELS
from api.messaging.risk import DISCLOSURE_TOPICS, LEVELS
from tests.gateway.staff import staff_token

REPO = Path(__file__).resolve().parents[2]
INTERNAL = ("disclose_", "utter_", "lex:", "intent:", "model:", "damp:", "/affirm", "_")


def _button_payloads(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {str(node["payload"])} if "payload" in node and "title" in node else set()
        return found.union(*(_button_payloads(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_button_payloads(v) for v in node))
    return set()


def test_every_code_has_a_vietnamese_name() -> None:
    assert set(labels.LEVELS) == set(LEVELS)
    assert set(labels.STATUSES) == set(CASE_STATUSES)
    assert set(labels.ROLES) == set(ROLES)
    assert set(labels.OUTCOMES) == set(OUTCOMES)
    assert set(labels.AUTHORS) == set(MESSAGE_AUTHORS)
    assert {"note", "handback", "close", "transfer", REASON_NOTE} <= set(labels.NOTE_KINDS)
    assert {channel.name for channel in CHANNELS} == set(labels.CHANNELS)
    assert set(DISCLOSURE_TOPICS) | {"request_counselor"} <= set(labels.CATEGORIES)
    lexicon = yaml.safe_load((REPO / "data/lexicon/risk.yml").read_text(encoding="utf-8"))
    assert set(lexicon["categories"]) <= set(labels.CATEGORIES)
    domain = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))
    assert set(domain["intents"]) - {"EXTERNAL_welcome", "EXTERNAL_checkin"} <= set(labels.CATEGORIES)
    every_name = [*labels.LEVELS.values(), *labels.CATEGORIES.values(), *labels.CHANNELS.values(),
                  *labels.ROLES.values(), *labels.OUTCOMES.values(), *labels.NOTE_KINDS.values()]
    assert not [name for name in every_name if any(code in name for code in INTERNAL)]


def test_every_button_of_the_assistant_reads_as_what_the_child_tapped() -> None:
    domain = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))
    payloads = _button_payloads(domain)
    assert len(payloads) > 20
    for payload in payloads:
        assert labels.button_label(payload) not in (None, labels.UNKNOWN_BUTTON), payload
    assert labels.button_label("/affirm") == "Có" and labels.button_label("/deny") == "Không"
    assert labels.button_label('/ask_hotline_111{"detail":"more"}') == "Xem thêm"
    assert labels.button_label("/quiz_answer 12 0 2") == "Trả lời câu đố"
    assert labels.button_label("/no_such_intent") == labels.UNKNOWN_BUTTON
    assert labels.button_label("em bị đánh") is None and labels.button_label("1/2 lớp") is None
    assert labels.shown_text("/request_counselor") == "Bấm nút: Nói chuyện với tư vấn viên"
    assert labels.shown_text("chào") == "chào"


@pytest.mark.parametrize(("signal", "expected"), [
    ("lex:sexual_abuse:sờ chỗ kín", "Từ ngữ về xâm hại tình dục: “sờ chỗ kín”"),
    ("lex:danger:cứu", "Từ ngữ về điều đáng lo: “cứu”"),
    ("intent:disclose_sexual_abuse:0.93", "Trợ lý hiểu là: Xâm hại tình dục (93%)"),
    ("intent2:disclose_bullying:0.40", "Cũng có thể là: Bị bắt nạt (40%)"),
    ("floor:disclose_self_harm:muốn chết", "Chủ đề nghiêm trọng: Tự hại, ý nghĩ tự tử “muốn chết”"),
    ("damp:general:làm sao biết", "Giảm mức (câu hỏi chung): “làm sao biết”"),
    ("damp:negation:physical_violence:đánh", "Giảm mức (phủ định): “đánh”"),
    ("damp:joke:haha:chắc ba đập", "Giảm mức (đùa): “haha chắc ba đập”"),
    ("damp:model:no_harm", "Giảm mức: mô hình thấy không có hại"),
    ("damp:model:unbacked", "Giảm mức: mô hình đọc rất yếu, quy tắc không thấy dấu hiệu hại"),
    ("damp:model:topic", "Giảm mức: mô hình đọc yếu, trợ lý hiểu là chuyện khác, không phải kể chuyện bị hại"),
    ("damp:rules:topic", "Giảm mức: chỉ có từ ngữ, mô hình và trợ lý đều không thấy chuyện bị hại"),
    ("model:high:n=0.01,c=0.10,h=0.81,i=0.08", "Mô hình đọc mức: Nghiêm trọng (81%)"),
    ("model:harm=sexual", "Mô hình đọc loại hại: tình dục"),
    ("model:severity=abuser_present", "Mô hình đọc mức nặng: kẻ xâm hại đang ở gần"),
    ("urgent:ngay bây giờ", "Đang xảy ra ngay: “ngay bây giờ”"),
    ("emoji:🆘", "Biểu tượng cảm xúc: 🆘"),
    ("context:2", "Đọc cùng các tin trước (2 tin)"),
    ("context:lex:self_harm:muốn chết", "Đọc cùng các tin trước: Từ ngữ về tự hại, tự tử: “muốn chết”"),
    ("something_new", "Tín hiệu khác"),
])
def test_signals_read_as_sentences(signal: str, expected: str) -> None:
    assert labels.signal_label(signal) == expected


@pytest.mark.asyncio
async def test_labels_endpoint_for_signed_in_staff(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/labels")).status_code == 401
    app = client._transport.app  # type: ignore[attr-defined]
    response = await client.get("/api/v1/labels", headers=staff_token(app, "nga@example.vn", "campaign_staff"))
    assert response.status_code == 200
    body = response.json()
    assert set(DISCLOSURE_TOPICS) <= set(body["categories"])
    assert set(body["channels"]) == {channel.name for channel in CHANNELS}
    assert set(body["roles"]) == set(ROLES) and set(body["outcomes"]) == set(OUTCOMES)
    assert body["buttons"]["affirm"] == "Có" and body["consoles"]["content"]["path"] == "/content"
