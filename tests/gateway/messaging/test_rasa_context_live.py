"""The real Rasa server and action server read a message in its conversation's context.

Runs against the servers `make test-gateway` starts (RASA_TEST_URL); skipped without them. The
action server asks Rasa's /model/parse for the joined messages (actions/context.py)."""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import httpx
import pytest

RASA_URL = os.environ.get("RASA_TEST_URL", "").strip()
LEVELS = ("none", "concern", "high", "imminent")
CONTEXT_SET = Path(__file__).resolve().parents[3] / "data" / "risk" / "context.jsonl"
pytestmark = pytest.mark.skipif(not RASA_URL, reason="needs the Rasa server of make test-gateway")


def _risk_of(sender: str, text: str) -> dict:
    response = httpx.post(f"{RASA_URL}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60,
                          headers={"Authorization": f"Bearer {os.environ.get('RASA_TEST_TOKEN', '')}"})
    response.raise_for_status()
    payloads = [reply["custom"] for reply in response.json() if (reply.get("custom") or {}).get("type") == "risk"]
    assert len(payloads) == 1, response.json()
    return payloads[0]


def _parsed_level(text: str) -> int:
    token = os.environ.get("RASA_TEST_TOKEN", "")
    response = httpx.post(f"{RASA_URL}/model/parse", params={"token": token}, json={"text": text}, timeout=60)
    response.raise_for_status()
    return LEVELS.index(response.json()["risk"]["level"])


def _raising_conversations() -> list[list[str]]:
    rows = [json.loads(line) for line in CONTEXT_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["messages"] for row in rows
            if LEVELS.index(row["risk_in_context"]) > LEVELS.index(row["risk_last_alone"])]


def test_a_follow_up_is_read_with_what_came_before():
    """In the conversations written so that the context raises the last message, wherever the
    joined messages read higher than the message did alone and than each earlier answer, the bot
    answers at the joined level, and elsewhere it answers without the context. Every message after
    the first is checked: the better a message is read alone, the fewer last messages need the
    context, so the earlier ones count too."""
    exercised = 0
    for messages in _raising_conversations():
        sender = f"web:context-{uuid.uuid4().hex}"
        answered: list[int] = []
        for position, text in enumerate(messages):
            window = messages[:position][-3:]
            alone = _parsed_level(text)
            joined = _parsed_level(" . ".join([*window, text]))
            reply = _risk_of(sender, text)
            raised = any(signal.startswith("context:") for signal in reply["signals"])
            if window and joined > max([alone, *answered[-3:]]):
                exercised += 1
                assert LEVELS.index(reply["level"]) == joined, messages[: position + 1]
                assert raised, messages[: position + 1]
            else:
                assert not raised, messages[: position + 1]
            answered.append(LEVELS.index(reply["level"]))
    assert exercised >= 1, "no conversation of context.jsonl exercised the context reading"


def test_thanks_after_a_disclosure_stays_thanks():
    sender = f"web:context-{uuid.uuid4().hex}"
    assert _risk_of(sender, "ba em đánh em chảy máu đầu")["level"] in ("high", "imminent")
    thanks = _risk_of(sender, "dạ em cảm ơn")
    assert not any(signal.startswith("context:") for signal in thanks["signals"])


def test_a_harmless_conversation_stays_harmless():
    sender = f"web:context-{uuid.uuid4().hex}"
    assert _risk_of(sender, "chào bot")["level"] == "none"
    assert _risk_of(sender, "tổng đài 111 có mất tiền không")["level"] == "none"
