"""Helpers for the content tests: staff users with tokens, a small domain.yml, and settings."""
from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from api.auth.models import User
from api.auth.passwords import hash_password
from api.auth.tokens import issue_token
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


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:  # overrides the shared fixture
    domain = tmp_path / "domain.yml"
    domain.write_text(TEST_DOMAIN, encoding="utf-8")
    (tmp_path / "nlu").mkdir()
    return settings.model_copy(update={"domain_path": str(domain), "nlu_data_dir": str(tmp_path / "nlu"),
                                       "broadcast_poll_seconds": 0.2})


def staff_token(app: FastAPI, email: str, role: str = "campaign_staff") -> dict[str, str]:
    """Create a staff account in the app's database; the Authorization header for it."""
    settings: Settings = app.state.context.settings
    with app.state.context.database.transaction() as session:
        user = User(email=email, display_name=email.split("@")[0], password_hash=hash_password("x" * 12),
                    role=role)
        session.add(user)
        session.flush()
        token = issue_token(settings.session_secret.get_secret_value(), user.id, user.token_version,
                            settings.access_token_minutes)
    return {"Authorization": f"Bearer {token}"}
