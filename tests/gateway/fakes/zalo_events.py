"""Zalo events as the platform posts them (signed), and the gateway settings that point at the fake Zalo."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import SecretStr

from api.settings import Settings
from tests.gateway.fakes.zalo import APP_SECRET, FakeZalo

ZALO_APP_ID = "50554360515256678"
ZALO_OA_SECRET = "test-oa-secret-key"
USER_ID = "5510185758261927916"  # past 2^53: must stay a string everywhere
OTHER_USER_ID = "7210185758261927001"


def zalo_settings(settings: Settings, fake_zalo: FakeZalo, **overrides: Any) -> Settings:
    """The shared test settings with the Zalo channel switched on against the fake server."""
    values: dict[str, Any] = {
        "zalo_app_id": ZALO_APP_ID,
        "zalo_oa_secret_key": SecretStr(ZALO_OA_SECRET),
        "zalo_app_secret": SecretStr(APP_SECRET),
        "zalo_access_token": SecretStr(fake_zalo.access_token),
        "zalo_refresh_token": SecretStr(fake_zalo.refresh_token),
        "zalo_api_base_url": fake_zalo.url,
        "zalo_oauth_base_url": fake_zalo.url,
    }
    values.update(overrides)
    return settings.model_copy(update=values)


def sign(body: bytes, *, app_id: str = ZALO_APP_ID, timestamp: str, secret: str = ZALO_OA_SECRET) -> str:
    return "mac=" + hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret.encode()).hexdigest()


_counter = iter(range(1, 10**9))


def text_event(text: str, *, user_id: str = USER_ID, msg_id: str | None = None) -> dict[str, Any]:
    n = next(_counter)
    return {
        "event_name": "user_send_text", "app_id": ZALO_APP_ID, "user_id_by_app": "3611371994410983884",
        "sender": {"id": user_id}, "recipient": {"id": "1646843870823903717"},
        "message": {"text": text, "msg_id": msg_id or f"msg{n:08d}abcdef"},
        "timestamp": str(1717061839659 + n),
    }


def attachment_event(event_name: str, attachment: str, *, user_id: str = USER_ID) -> dict[str, Any]:
    n = next(_counter)
    return {
        "event_name": event_name, "app_id": ZALO_APP_ID, "sender": {"id": user_id},
        "recipient": {"id": "1646843870823903717"},
        "message": {"msg_id": f"att{n:08d}abcdef", "text": "",
                    "attachments": [{"type": attachment, "payload": {"url": "https://zalo.example/a.jpg"}}]},
        "timestamp": str(1717061839659 + n),
    }


def follower_event(event_name: str, *, user_id: str = USER_ID) -> dict[str, Any]:
    n = next(_counter)
    return {"oa_id": "1646843870823903717", "follower": {"id": user_id}, "user_id_by_app": "3611371994410983884",
            "event_name": event_name, "source": "testing", "app_id": ZALO_APP_ID,
            "timestamp": str(1717061839659 + n)}


def signed_request(event: dict[str, Any], **sign_overrides: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event, separators=(",", ":")).encode()
    header = sign(body, timestamp=str(event.get("timestamp", "")), **sign_overrides)
    return body, {"X-ZEvent-Signature": header, "Content-Type": "application/json"}
