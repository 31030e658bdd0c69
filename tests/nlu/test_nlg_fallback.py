"""The NLG used by Rasa takes the gateway's text, and domain.yml's text whenever the gateway fails."""
from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from rasa_nlg.fallback import FallbackCallbackNLG

DOMAIN = Domain.from_dict(
    {
        "responses": {
            "utter_greet": [{"text": "Chào em, mình là bạn đồng hành."}],
            "utter_disclosure_support": [{"text": "Em hãy gọi 111 (miễn phí, 24/7) nhé."}],
        }
    }
)


async def _start_gateway(handler) -> tuple[web.AppRunner, str, list]:
    """A small stand-in for the gateway's /nlg on a free localhost port."""
    seen: list = []

    async def nlg(request: web.Request) -> web.StreamResponse:
        seen.append(await request.json())
        return await handler(request)

    app = web.Application()
    app.router.add_post("/nlg", nlg)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/nlg", seen


def _generator(url: str, timeout: float = 2.0) -> FallbackCallbackNLG:
    return FallbackCallbackNLG(endpoint_config=EndpointConfig(url=url, timeout=timeout), domain=DOMAIN)


def _tracker() -> DialogueStateTracker:
    return DialogueStateTracker("telegram:abc", slots=[])


async def _generate(nlg: FallbackCallbackNLG, name: str):
    return await nlg.generate(name, _tracker(), "rest", domain_responses=DOMAIN.responses)


@pytest.mark.asyncio
async def test_live_text_from_the_gateway_is_used():
    async def live(_request):
        return web.json_response({"text": "Chào em! Văn bản mới của chiến dịch.", "buttons": []})

    runner, url, seen = await _start_gateway(live)
    try:
        reply = await _generate(_generator(url), "utter_greet")
    finally:
        await runner.cleanup()
    assert reply["text"] == "Chào em! Văn bản mới của chiến dịch."
    assert seen[0]["response"] == "utter_greet"
    assert seen[0]["channel"] == {"name": "rest"}


@pytest.mark.asyncio
async def test_request_carries_slots_but_not_the_conversation():
    """The gateway fills slots only; the events of the conversation never leave Rasa with each line."""
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.slots import TextSlot

    async def live(_request):
        return web.json_response({"text": "Văn bản."})

    tracker = DialogueStateTracker("telegram:abc", slots=[TextSlot("risk_level", mappings=[])])
    tracker.update(UserUttered("em bị đánh", {"name": "disclose_physical_abuse", "confidence": 0.9}))
    tracker.update(SlotSet("risk_level", "high"))
    runner, url, seen = await _start_gateway(live)
    try:
        await _generator(url).generate("utter_greet", tracker, "rest", buttons=[{"title": "Có", "payload": "/affirm"}],
                                       domain_responses=DOMAIN.responses)
    finally:
        await runner.cleanup()
    assert seen[0]["tracker"] == {"sender_id": "telegram:abc", "slots": {"risk_level": "high"}}
    assert seen[0]["arguments"] == {"buttons": [{"title": "Có", "payload": "/affirm"}]}
    assert "em bị đánh" not in str(seen[0])


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "status,body",
    [(500, {"detail": "boom"}), (404, {"detail": "unknown"}), (200, {"text": ""}), (200, {"text": "   "}),
     (200, {"text": 42})],
    ids=["server-error", "not-found", "empty-text", "blank-text", "invalid-body"],
)
async def test_gateway_failures_fall_back_to_domain_text(status, body):
    async def failing(_request):
        return web.json_response(body, status=status)

    runner, url, seen = await _start_gateway(failing)
    try:
        reply = await _generate(_generator(url), "utter_disclosure_support")
    finally:
        await runner.cleanup()
    assert seen, "the gateway was asked first"
    assert reply["text"] == "Em hãy gọi 111 (miễn phí, 24/7) nhé."


@pytest.mark.asyncio
async def test_unreachable_gateway_falls_back():
    runner, url, _ = await _start_gateway(lambda r: web.json_response({}))
    await runner.cleanup()  # nothing listens on that port any more
    reply = await _generate(_generator(url), "utter_greet")
    assert reply["text"] == "Chào em, mình là bạn đồng hành."


@pytest.mark.asyncio
async def test_slow_gateway_is_cut_off_at_the_timeout():
    async def slow(_request):
        await asyncio.sleep(5)
        return web.json_response({"text": "too late"})

    runner, url, _ = await _start_gateway(slow)
    try:
        started = time.perf_counter()
        reply = await _generate(_generator(url, timeout=0.5), "utter_greet")
        elapsed = time.perf_counter() - started
    finally:
        await runner.cleanup()
    assert reply["text"] == "Chào em, mình là bạn đồng hành."
    assert elapsed < 2.0


def test_default_timeout_is_two_seconds():
    nlg = FallbackCallbackNLG(endpoint_config=EndpointConfig(url="http://127.0.0.1:9/nlg"), domain=DOMAIN)
    assert nlg.timeout == 2.0


def test_rasa_builds_it_from_the_endpoint_config():
    from rasa.core.nlg.generator import NaturalLanguageGenerator

    config = EndpointConfig(url="http://127.0.0.1:9/nlg", type="rasa_nlg.fallback.FallbackCallbackNLG")
    assert isinstance(NaturalLanguageGenerator.create(config, DOMAIN), FallbackCallbackNLG)


@pytest.mark.asyncio
async def test_custom_action_responses_fall_back_to_the_domain_file(tmp_path):
    """As Rasa really runs it: the generator is built before the model (no domain) and a custom
    action's `utter_message(response=...)` arrives without `domain_responses`."""
    from rasa.core.nlg.generator import NaturalLanguageGenerator

    domain_file = tmp_path / "domain.yml"
    domain_file.write_text(
        'version: "3.1"\nresponses:\n  utter_greet:\n    - text: "Chào bạn, gọi 111 khi cần nhé."\n',
        encoding="utf-8",
    )
    config = EndpointConfig(url="http://127.0.0.1:9/nlg", type="rasa_nlg.fallback.FallbackCallbackNLG",
                            domain=str(domain_file), timeout=0.5)
    nlg = NaturalLanguageGenerator.create(config, None)
    reply = await nlg.generate("utter_greet", _tracker(), "rest")
    assert reply["text"] == "Chào bạn, gọi 111 khi cần nhé."
