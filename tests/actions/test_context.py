"""A message read with the conversation's last few user messages (actions/context.py)."""
from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional

import pytest
from aiohttp import web
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAnswer
from actions.context import (
    CONTEXT_MESSAGES,
    CONTEXT_SECONDS,
    JOINER,
    EarlierMessage,
    RasaRiskReader,
    earlier_user_messages,
    read_in_context,
)

ROOT = Path(__file__).resolve().parents[2]


class FakeReader:
    """Answers a fixed level for the joined text and records what it was asked."""

    def __init__(self, level: Optional[str], category: str = "disclose_self_harm") -> None:
        self.level = level
        self.category = category
        self.asked: List[str] = []

    async def read_risk(self, text: str) -> Optional[Dict[str, Any]]:
        self.asked.append(text)
        if self.level is None:
            return None
        return {"level": self.level, "category": self.category, "signals": ["lex:x"]}


def _user(text: str, level: str = "none", timestamp: float = 1000.0) -> Dict[str, Any]:
    return {"event": "user", "text": text, "timestamp": timestamp, "parse_data": {"risk": {"level": level}}}


def _read(own: Dict[str, Any], text: str, earlier: List[EarlierMessage], reader) -> Dict[str, Any]:
    return asyncio.run(read_in_context(own, text, earlier, reader))


def test_a_time_after_a_death_wish_is_read_as_a_plan_for_tonight():
    reader = FakeReader("imminent")
    own = {"level": "none", "category": None, "signals": []}
    result = _read(own, "tối nay", [EarlierMessage("em muốn chết", "high")], reader)
    assert result["level"] == "imminent"
    assert result["category"] == "disclose_self_harm"
    assert "context:1" in result["signals"]
    assert reader.asked == ["em muốn chết" + JOINER + "tối nay"]


def test_thanks_after_a_disclosure_stays_thanks():
    # The joined text reads high, but the disclosure alone already did: nothing new is said.
    reader = FakeReader("high")
    own = {"level": "none", "category": None, "signals": []}
    result = _read(own, "cảm ơn", [EarlierMessage("bố đánh em chảy máu", "high")], reader)
    assert result is own


def test_context_never_lowers_a_reading():
    reader = FakeReader("none")
    own = {"level": "high", "category": "disclose_sexual_abuse", "signals": ["lex:a"]}
    assert _read(own, "chú sờ em", [EarlierMessage("chào bot", "none")], reader) is own


def test_imminent_is_not_read_again_and_no_history_asks_nothing():
    reader = FakeReader("imminent")
    own = {"level": "imminent", "category": "disclose_self_harm", "signals": []}
    assert _read(own, "em cầm dao rồi", [EarlierMessage("em buồn", "concern")], reader) is own
    assert _read({"level": "none"}, "chào", [], reader) == {"level": "none"}
    assert reader.asked == []


def test_reader_down_keeps_the_own_reading():
    own = {"level": "concern", "category": "disclose_bullying", "signals": []}
    assert _read(own, "nó lại đánh", [EarlierMessage("tụi nó chặn đường", "concern")], FakeReader(None)) is own


def test_earlier_messages_window_session_and_payloads():
    events = [
        _user("tin cũ từ phiên trước", "high", 10.0),
        {"event": "session_started"},
        _user("quá lâu rồi", "concern", 1000.0 - CONTEXT_SECONDS - 1),
        _user("/affirm", "none", 990.0),
        *[_user(f"tin {i}", "none", 995.0) for i in range(CONTEXT_MESSAGES)],
        _user("tin hiện tại", "none", 1000.0),
    ]
    earlier = earlier_user_messages(events)
    assert [m.text for m in earlier] == [f"tin {i}" for i in range(CONTEXT_MESSAGES)]
    assert earlier_user_messages([_user("một tin")]) == []


def test_the_action_answers_with_the_context_reading():
    """The reply and the payload follow the in-context level: the imminent safety steps."""
    events = [_user("em muốn chết", "high", 900.0), _user("tối nay", "none", 960.0)]
    tracker = Tracker(
        sender_id="web:test",
        slots={"risk_level": "high", "risk_category": "disclose_self_harm", "counselor_offered": True,
               "counselor_requested": None, "fallback_count": None},
        latest_message={"text": "tối nay", "intent": {"name": "out_of_scope", "confidence": 0.6},
                        "intent_ranking": [], "entities": [], "risk": {"level": "none", "signals": []}},
        events=events, paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAnswer(risk_reader=FakeReader("imminent")).run(dispatcher, tracker, {}))
    responses = [m["response"] for m in dispatcher.messages if m.get("response")]
    payload = next(m["custom"] for m in dispatcher.messages if m.get("custom"))
    assert responses[0] == "utter_imminent_self_harm"
    assert payload["level"] == "imminent" and payload["escalate"] is True


@contextlib.asynccontextmanager
async def _parse_endpoint(handler) -> AsyncIterator[str]:
    """A local /model/parse answered by `handler`; yields its base URL."""
    app = web.Application()
    app.router.add_post("/model/parse", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("status,body,expected", [
    (200, {"risk": {"level": "imminent", "category": "disclose_self_harm", "signals": []}}, "imminent"),
    (500, {"error": "boom"}, None),
    (200, {"risk": {"level": "bogus"}}, None),
])
def test_rasa_reader_against_a_local_parse_endpoint(status, body, expected):
    async def scenario() -> Optional[Dict[str, Any]]:
        seen: List[Dict[str, Any]] = []

        async def parse(request: web.Request) -> web.Response:
            seen.append({"token": request.query.get("token"), "text": (await request.json())["text"]})
            return web.json_response(body, status=status)

        async with _parse_endpoint(parse) as url:
            risk = await RasaRiskReader(url, "secret").read_risk("em muốn chết . tối nay")
        assert seen == [{"token": "secret", "text": "em muốn chết . tối nay"}]
        return risk

    risk = asyncio.run(scenario())
    assert (risk or {}).get("level") == expected


def test_rasa_reader_unreachable_returns_none():
    reader = RasaRiskReader("http://127.0.0.1:9", timeout_seconds=0.5)
    assert asyncio.run(reader.read_risk("alo")) is None


def _risk_payload(level: str) -> Dict[str, Any]:
    return {"event": "bot", "text": None, "data": {"custom": {"type": "risk", "level": level}}}


def test_earlier_messages_carry_the_level_they_were_answered_at():
    """"tối nay" was raised to imminent by its context: the thanks after it is not raised again."""
    events = [
        _user("em muốn chết", "high", 900.0), _risk_payload("high"),
        _user("tối nay", "none", 930.0), _risk_payload("imminent"),
        _user("dạ em cảm ơn", "none", 960.0),
    ]
    earlier = earlier_user_messages(events)
    assert [(m.text, m.level) for m in earlier] == [("em muốn chết", "high"), ("tối nay", "imminent")]
    reader = FakeReader("imminent")
    own = {"level": "none", "category": None, "signals": []}
    assert _read(own, "dạ em cảm ơn", earlier, reader) is own


def test_triggered_events_and_buttons_are_not_read_as_words():
    events = [
        _user("ba em đánh em chảy máu", "high", 900.0),
        _user("EXTERNAL: EXTERNAL_checkin", "none", 950.0),
        _user("/affirm", "none", 960.0),
    ]
    assert [m.text for m in earlier_user_messages(events)] == ["ba em đánh em chảy máu"]
    reader = FakeReader("imminent")
    for text in ("EXTERNAL: EXTERNAL_checkin", "/request_counselor"):
        own = {"level": "none", "category": None, "signals": []}
        assert _read(own, text, [EarlierMessage("ba em đánh em chảy máu", "high")], reader) is own
    assert reader.asked == []


def test_rasa_reader_gives_up_after_its_timeout():
    async def scenario() -> Optional[Dict[str, Any]]:
        async def slow(request: web.Request) -> web.Response:
            await asyncio.sleep(2)
            return web.json_response({"risk": {"level": "imminent"}})

        async with _parse_endpoint(slow) as url:
            return await RasaRiskReader(url, timeout_seconds=0.2).read_risk("alo")

    assert asyncio.run(scenario()) is None


def test_the_reader_token_is_not_in_its_repr():
    assert "secret" not in repr(RasaRiskReader("http://127.0.0.1:5005", "secret"))
