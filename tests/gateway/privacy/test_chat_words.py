"""Which messages ask for erasure, confirm or cancel it; a disclosure that mentions deleting
messages is not taken for a request (it goes to Rasa)."""
from __future__ import annotations

import pytest

from api.privacy.chat import intent_of


@pytest.mark.parametrize("text", [
    "xoá dữ liệu của em", "xóa dữ liệu của em", "xoa du lieu", "/delete", "xóa hết tin nhắn của mình",
    "Xoá hết tin nhắn của mình!", "em muốn xoá dữ liệu", "mình muốn xóa toàn bộ thông tin của mình",
    "XOA DU LIEU CUA EM", "/xoa", "cho em xoá lịch sử trò chuyện", "xoá cuộc trò chuyện này",
])
def test_requests(text: str) -> None:
    assert intent_of(text) == "request"


@pytest.mark.parametrize("text", [
    "bố bắt em xoá hết tin nhắn", "anh ấy bảo em xoá tin nhắn đi không được kể với ai", "xoá", "dữ liệu là gì",
    "em lỡ xoá tin nhắn của bạn em rồi bây giờ phải làm sao ạ mọi người ơi giúp em với",
    "chào bạn", "đồng ý",
])
def test_not_requests(text: str) -> None:
    assert intent_of(text) != "request"


@pytest.mark.parametrize(("text", "intent"), [
    ("đồng ý", "confirm"), ("Đồng ý xoá", "confirm"), ("dong y", "confirm"), ("/erase_confirm", "confirm"),
    ("Không", "cancel"), ("ko", "cancel"), ("/erase_cancel", "cancel"), ("không xoá", "cancel"),
    ("em bị đánh", None),
])
def test_answers(text: str, intent: str | None) -> None:
    assert intent_of(text) == intent
