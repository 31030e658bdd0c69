"""Wiring for the Zalo OA channel: the HTTP client, token store and sender, started with the app."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from api.channels.base import Channel
from api.channels.zalo.client import ZaloClient
from api.channels.zalo.routes import router
from api.channels.zalo.sender import ZaloSender
from api.channels.zalo.state import ZaloConversationMemory
from api.channels.zalo.tokens import SeedPair, ZaloTokenStore
from api.context import app_context
from api.db.gate import WriteGate
from api.messaging.senders import ChannelRegistry
from api.messaging.texts import UserTexts
from api.security.crypto import Crypto
from api.settings import Settings
from api.tasks import PeriodicTask

log = logging.getLogger(__name__)


# Check the token this often even when nobody writes: each check refreshes it when it is close to
# expiry, which also keeps the refresh-token chain alive (an unused refresh token lapses).
TOKEN_CHECK_SECONDS = 1800.0


@dataclass
class ZaloService:
    http: httpx.AsyncClient
    client: ZaloClient
    tokens: ZaloTokenStore
    sender: ZaloSender
    registry: ChannelRegistry
    task: PeriodicTask | None = None

    def start(self) -> ZaloService:
        self.task = PeriodicTask("zalo-token-refresher", self.tokens.access_token, TOKEN_CHECK_SECONDS,
                                 on_error=_token_check_failed).start()
        return self

    async def stop(self) -> None:
        self.registry.unregister(self.sender.channel)
        if self.task is not None:
            await self.task.stop()
        await self.http.aclose()


def _token_check_failed(exc: Exception) -> None:  # logged and retried at the next check
    log.error("zalo: token check failed: %s", type(exc).__name__)


def build_zalo(settings: Settings, gate: WriteGate, crypto: Crypto, http: httpx.AsyncClient,
               texts: UserTexts | None = None) -> tuple[ZaloClient, ZaloTokenStore, ZaloSender]:
    client = ZaloClient(
        http,
        api_base_url=settings.zalo_api_base_url,
        oauth_base_url=settings.zalo_oauth_base_url,
        app_id=settings.zalo_app_id,
        app_secret=settings.zalo_app_secret.get_secret_value(),
    )
    tokens = ZaloTokenStore(
        gate,
        client,
        crypto,
        SeedPair(
            app_id=settings.zalo_app_id,
            access_token=settings.zalo_access_token.get_secret_value(),
            refresh_token=settings.zalo_refresh_token.get_secret_value(),
        ),
    )
    sender = ZaloSender(client, tokens, ZaloConversationMemory(gate, crypto, texts))
    return client, tokens, sender


async def start_zalo(app: FastAPI) -> ZaloService | None:
    """Startup service (app_context(app).startup_services): registers the Zalo sender when configured."""
    settings: Settings = app_context(app).settings
    if not settings.zalo_enabled:
        return None
    http = httpx.AsyncClient()
    context = app_context(app)
    client, tokens, sender = build_zalo(settings, context.write_gate, context.crypto, http, context.user_texts)
    registry: ChannelRegistry = app_context(app).channel_senders
    registry.register(sender)
    app_context(app).zalo_tokens = tokens
    log.info("zalo channel on")
    return ZaloService(http=http, client=client, tokens=tokens, sender=sender, registry=registry).start()


def _enabled(settings: Settings) -> bool:
    return settings.zalo_enabled


CHANNEL = Channel(name="zalo", router=router, start=start_zalo, enabled=_enabled)
