"""A small domain.yml and an empty NLU folder for the tests that run the content feature."""
from __future__ import annotations

from pathlib import Path

from api.settings import Settings

TEST_DOMAIN = """\
version: "3.1"
intents:
  - greet
  - ask_hotline_111
  - faq
responses:
  utter_greet:
    - text: "Chào {name}! Mình là bạn đồng hành của chương trình."
  utter_ask_hotline_111:
    - text: "Tổng đài 111 miễn phí, 24/7."
  utter_disclosure_sexual_abuse:
    - text: "Cảm ơn em đã kể. Đó không phải lỗi của em. Em hãy gọi 111 (miễn phí, 24/7) nhé."
      buttons:
        - title: "Nói chuyện với tư vấn viên"
          payload: "/request_counselor"
  utter_default:
    - text: "Mình chưa hiểu lắm. Nếu cần giúp ngay, em gọi 111 nhé."
  utter_thank:
    - text: "Không có gì!"
"""



def content_settings(base: Settings, tmp_path: Path) -> Settings:
    """`base` pointed at the small domain, an empty NLU folder and a fast broadcast scheduler."""
    domain = tmp_path / "domain.yml"
    domain.write_text(TEST_DOMAIN, encoding="utf-8")
    (tmp_path / "nlu").mkdir(exist_ok=True)
    return base.model_copy(update={"domain_path": str(domain), "nlu_data_dir": str(tmp_path / "nlu"),
                                   "inbox_export_dir": str(tmp_path / "exports"),
                                   "broadcast_poll_seconds": 0.2})
