"""The gateway's client for the Rasa server: REST channel, parse, tracker events, trigger_intent."""
from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import quote

import httpx

from api.logs import REQUEST_ID_HEADER, current_request_id
from api.metrics import GatewayMetrics

log = logging.getLogger(__name__)


# Answers that mean no Rasa process is serving (a proxy or supervisor in front of it speaks).
_NOT_SERVING_STATUSES = frozenset({502, 503, 504})
# How long an idle pooled connection is reused. httpx keeps one 5 s by default, exactly when uvicorn
# (and many proxies) close it: a request sent at that instant fails with "Server disconnected" and
# the child gets the hotline fallback for nothing. Rasa itself keeps connections 120 s.
KEEPALIVE_SECONDS = 2.0


class RasaUnavailable(RuntimeError):
    """Rasa did not answer usefully (down, timeout, 5xx or an unexpected body).

    `unreachable` says Rasa was not serving at all (connection refused or reset, 502/503/504), as
    opposed to a Rasa that took the request and timed out or failed on it (overloaded, a broken
    store): only the first is worth retrying the moment a probe sees it answer again."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class RasaClient:
    """Thin wrapper over one httpx.AsyncClient; injected, so tests point it at a fake server.

    Every request carries the current request id (X-Request-ID) and is timed in the
    gateway_rasa_request_seconds histogram by endpoint and outcome."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str = "",
        timeout: float = 15.0,
        keepalive_seconds: float = KEEPALIVE_SECONDS,
        client: httpx.AsyncClient | None = None,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.metrics = metrics or GatewayMetrics()
        self._token = token
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32,
                                keepalive_expiry=keepalive_seconds),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _params(self) -> dict[str, str]:
        return {"token": self._token} if self._token else {}

    async def _request(self, method: str, path: str, *, endpoint: str, json: Any = None,
                       timeout: float | None = None) -> Any:
        """`endpoint` names the route for the latency histogram (paths carry sender ids)."""
        url = f"{self.base_url}{path}"
        request_id = current_request_id()
        kwargs: dict[str, Any] = {"json": json, "params": self._params(),
                                  "headers": {REQUEST_ID_HEADER: request_id} if request_id else None}
        if timeout is not None:
            kwargs["timeout"] = timeout
        started = time.perf_counter()
        outcome = "error"
        try:
            response = await self._client.request(method, url, **kwargs)
            outcome = "ok" if response.status_code < 400 else f"http_{response.status_code // 100}xx"
        except httpx.TimeoutException as exc:
            outcome = "timeout"
            raise RasaUnavailable(f"{method} {endpoint}: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"{method} {endpoint}: {type(exc).__name__}",
                                  unreachable=isinstance(exc, httpx.TransportError)) from exc
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.rasa_latency.labels(endpoint, outcome).observe(elapsed)
            log.debug("rasa request", extra={"endpoint": endpoint, "outcome": outcome,
                                             "seconds": round(elapsed, 4)})
        if response.status_code >= 400:
            raise RasaUnavailable(f"{method} {endpoint}: HTTP {response.status_code}",
                                  unreachable=response.status_code in _NOT_SERVING_STATUSES)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise RasaUnavailable(f"{method} {endpoint}: body is not JSON") from exc

    async def send_message(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """POST /webhooks/rest/webhook; returns Rasa's reply list (text, buttons, custom ...)."""
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        replies = await self._request("POST", "/webhooks/rest/webhook", endpoint="webhook", json=body)
        if replies is None:
            return []
        if not isinstance(replies, list):
            raise RasaUnavailable("REST webhook answered something other than a list")
        return [r for r in replies if isinstance(r, dict)]

    async def parse(self, text: str, message_id: str | None = None) -> dict[str, Any]:
        """POST /model/parse: intent, entities and the `risk` object."""
        body: dict[str, Any] = {"text": text}
        if message_id:
            body["message_id"] = message_id
        result = await self._request("POST", "/model/parse", endpoint="parse", json=body)
        if not isinstance(result, dict):
            raise RasaUnavailable("parse answered something other than an object")
        return result

    async def append_events(self, sender: str, events: dict[str, Any] | list[dict[str, Any]]) -> Any:
        return await self._request("POST", f"/conversations/{quote(sender, safe='')}/tracker/events",
                                   endpoint="tracker_events", json=events)

    async def pause(self, sender: str) -> None:
        await self.append_events(sender, {"event": "pause"})

    async def resume(self, sender: str) -> None:
        await self.append_events(sender, {"event": "resume"})

    async def trigger_intent(
        self, sender: str, name: str, entities: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """POST /conversations/{sender}/trigger_intent (e.g. EXTERNAL_checkin after a hand-back)."""
        body: dict[str, Any] = {"name": name}
        if entities:
            body["entities"] = entities
        result = await self._request(
            "POST", f"/conversations/{quote(sender, safe='')}/trigger_intent", endpoint="trigger_intent", json=body
        )
        return result if isinstance(result, dict) else None

    async def tracker(self, sender: str) -> dict[str, Any]:
        result = await self._request("GET", f"/conversations/{quote(sender, safe='')}/tracker", endpoint="tracker")
        return result if isinstance(result, dict) else {}

    async def is_up(self, timeout: float = 1.0) -> bool:
        """GET / answers plain text ("Hello from Rasa: ..."), so only the status matters."""
        try:
            response = await self._client.get(f"{self.base_url}/", timeout=timeout)
        except httpx.HTTPError:
            return False
        return response.status_code < 500
