"""The real Rasa server and action server read a message in its conversation's context.

Runs against the servers `make test-gateway` starts (RASA_TEST_URL); skipped without them. The
action server asks Rasa's /model/parse for the joined messages (actions/context.py)."""
from __future__ import annotations

import os
import uuid

import httpx
import pytest

RASA_URL = os.environ.get("RASA_TEST_URL", "").strip()
pytestmark = pytest.mark.skipif(not RASA_URL, reason="needs the Rasa server of make test-gateway")


def _risk_of(sender: str, text: str) -> dict:
    response = httpx.post(f"{RASA_URL}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60)
    response.raise_for_status()
    payloads = [reply["custom"] for reply in response.json() if (reply.get("custom") or {}).get("type") == "risk"]
    assert len(payloads) == 1, response.json()
    return payloads[0]


def test_a_time_after_a_death_wish_is_read_with_it():
    sender = f"web:context-{uuid.uuid4().hex}"
    first = _risk_of(sender, "em không muốn sống nữa")
    assert first["level"] in ("high", "imminent")
    second = _risk_of(sender, "tối nay")
    assert second["level"] == "imminent"
    assert any(signal.startswith("context:") for signal in second["signals"])
    assert second["escalate"] is True


def test_thanks_after_a_disclosure_stays_thanks():
    sender = f"web:context-{uuid.uuid4().hex}"
    assert _risk_of(sender, "ba em đánh em chảy máu đầu")["level"] in ("high", "imminent")
    thanks = _risk_of(sender, "dạ em cảm ơn")
    assert not any(signal.startswith("context:") for signal in thanks["signals"])


def test_a_harmless_conversation_stays_harmless():
    sender = f"web:context-{uuid.uuid4().hex}"
    assert _risk_of(sender, "chào bot")["level"] == "none"
    assert _risk_of(sender, "tổng đài 111 có mất tiền không")["level"] == "none"
