"""A fake Rasa server with the parts of the HTTP API the gateway uses.

Rules for /webhooks/rest/webhook:
- text containing "cứu" → a reply with 111 and a risk payload with level imminent;
- "nút" → a reply with two buttons (one with a payload longer than 64 bytes);
- "dài" → a reply longer than 4096 characters;
- "norisk" → a reply without the risk payload (the gateway must ask /model/parse);
- anything else → "Mình nghe rồi: <text>" and a risk payload with level none.
A paused sender (tracker event pause) gets no reply. `down = True` answers 503 everywhere.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.gateway.fakes.server import FakeService, ServerThread

LONG_PARAGRAPH = ("Mình muốn kể cho bạn nghe về an toàn cơ thể. " * 20).strip()
LONG_BUTTON_PAYLOAD = '/choose_topic{"topic": "an_toan_co_the_va_nguoi_la_tren_mang_xa_hoi_rat_dai"}'


def risk_of(text: str) -> dict[str, Any]:
    if "cứu" in text.lower():
        return {"level": "imminent", "category": "danger_now", "signals": ["lex:danger:cứu"]}
    return {"level": "none", "category": None, "signals": []}


class FakeRasa(FakeService):
    def __init__(self) -> None:
        self.down = False
        self.delay_seconds = 0.0
        self._released = threading.Event()  # cleared: turns wait, in flight and unanswered
        self._released.set()
        self.messages: list[dict[str, Any]] = []
        self.request_ids: list[str | None] = []  # X-Request-ID of each REST webhook call
        self.tokens: list[str | None] = []  # the ?token= of each REST webhook call (Rasa's token)
        self.parses: list[dict[str, Any]] = []
        self.events: list[tuple[str, Any]] = []
        self.triggered: list[tuple[str, Any]] = []
        self.paused: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0
        self._generation = 0  # bumped by reset(): a turn of an earlier test does not count in this one
        self.refused = 0  # turns answered 503 while down
        self.answer_nothing = False  # every turn answered [] (an overloaded Rasa whose actions timed out)
        self._lock = threading.Lock()
        app = Starlette(routes=[
            Route("/", self._root),
            Route("/webhooks/rest/webhook", self._webhook, methods=["POST"]),
            Route("/model/parse", self._parse, methods=["POST"]),
            Route("/conversations/{sender}/tracker/events", self._events, methods=["POST"]),
            Route("/conversations/{sender}/trigger_intent", self._trigger, methods=["POST"]),
        ])
        self._server = ServerThread(app)
        self.url = self._server.url

    def reset(self) -> None:
        with self._lock:
            self.down = False
            self.delay_seconds = 0.0
            self._released.set()
            self.messages.clear()
            self.request_ids.clear()
            self.tokens.clear()
            self.parses.clear()
            self.events.clear()
            self.triggered.clear()
            self.paused.clear()
            self.in_flight = 0
            self.max_in_flight = 0
            self._generation += 1
            self.refused = 0
            self.answer_nothing = False

    @property
    def holding(self) -> bool:
        """True: every turn waits until this is set back to False."""
        return not self._released.is_set()

    @holding.setter
    def holding(self, hold: bool) -> None:
        if hold:
            self._released.clear()
        else:
            self._released.set()

    def texts(self) -> list[str]:
        with self._lock:
            return [m["message"] for m in self.messages]

    async def _root(self, request: Request) -> Response:
        if self.down:
            return Response(status_code=503)
        return PlainTextResponse("Hello from Rasa: 3.6.21")

    async def _webhook(self, request: Request) -> Response:
        if self.down:
            with self._lock:
                self.refused += 1
            return Response(status_code=503)
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            generation = self._generation
        try:
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)  # the fake's behaviour: a slow Rasa turn
            if not self._released.is_set():  # a Rasa turn that ends only when the test says so
                await asyncio.to_thread(self._released.wait)
        finally:
            with self._lock:
                if generation == self._generation:
                    self.in_flight -= 1
        body = await request.json()
        with self._lock:
            self.messages.append(body)
            self.request_ids.append(request.headers.get("x-request-id"))
            self.tokens.append(request.query_params.get("token"))
        sender, text = body["sender"], body.get("message", "")
        if sender in self.paused or self.answer_nothing:
            return JSONResponse([])
        lowered = text.lower()
        replies: list[dict[str, Any]] = []
        risk = risk_of(text)
        if "cứu" in lowered:
            replies.append({"recipient_id": sender, "text": "Mình ở đây với bạn. Hãy gọi ngay 111 — miễn phí, 24/7."})
        elif "nút" in lowered:
            replies.append({"recipient_id": sender, "text": "Bạn muốn tìm hiểu gì?", "buttons": [
                {"title": "Có", "payload": "/affirm"},
                {"title": "An toàn trên mạng", "payload": LONG_BUTTON_PAYLOAD},
            ]})
        elif "dài" in lowered:
            replies.append({"recipient_id": sender, "text": "\n\n".join([LONG_PARAGRAPH] * 6)})
        else:
            replies.append({"recipient_id": sender, "text": f"Mình nghe rồi: {text}"})
        if "norisk" not in lowered:
            replies.append({"recipient_id": sender, "custom": {
                "type": "risk", **risk, "escalate": risk["level"] in ("high", "imminent"),
                "counselor_requested": False, "intent": "ask_help" if risk["level"] != "none" else "chitchat"}})
        return JSONResponse(replies)

    async def _parse(self, request: Request) -> Response:
        if self.down:
            return Response(status_code=503)
        body = await request.json()
        with self._lock:
            self.parses.append(body)
        text = body.get("text", "")
        return JSONResponse({"text": text, "intent": {"name": "chitchat", "confidence": 0.9},
                             "entities": [], "risk": risk_of(text)})

    async def _events(self, request: Request) -> Response:
        if self.down:
            return Response(status_code=503)
        sender = request.path_params["sender"]
        body = await request.json()
        events = body if isinstance(body, list) else [body]
        with self._lock:
            for event in events:
                self.events.append((sender, event))
                if event.get("event") == "pause":
                    self.paused.add(sender)
                elif event.get("event") == "resume":
                    self.paused.discard(sender)
        return JSONResponse({"sender_id": sender, "paused": sender in self.paused, "events": []})

    async def _trigger(self, request: Request) -> Response:
        if self.down:
            return Response(status_code=503)
        sender = request.path_params["sender"]
        body = await request.json()
        with self._lock:
            self.triggered.append((sender, body))
        return JSONResponse({"tracker": {"sender_id": sender}, "messages": [
            {"recipient_id": sender, "text": "Chào bạn, mình quay lại rồi đây. Bạn thấy thế nào?"}]})
