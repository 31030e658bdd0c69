"""Installs the Telegram channel: its webhook route, and its sender started with the app."""
from __future__ import annotations

from fastapi import FastAPI
from telegram.ext import Application

from api.channels.base import Channel
from api.channels.telegram.adapter import CHANNEL as NAME
from api.channels.telegram.adapter import build_application
from api.channels.telegram.routes import router
from api.channels.telegram.sender import TelegramSender
from api.context import app_context
from api.messaging.senders import ChannelRegistry
from api.settings import Settings


class TelegramService:
    """Starts and stops the PTB Application in the app's lifespan and registers the sender."""

    def __init__(self, application: Application, sender: TelegramSender,  # type: ignore[type-arg]
                 registry: ChannelRegistry) -> None:
        self.application = application
        self.sender = sender
        self.registry = registry

    async def start(self) -> TelegramService:
        await self.application.initialize()
        await self.application.start()
        self.registry.register(self.sender)
        return self

    async def stop(self) -> None:
        self.registry.unregister(self.sender.channel)
        await self.application.stop()
        await self.application.shutdown()


async def start_telegram(app: FastAPI) -> TelegramService:
    """Startup service: the PTB Application (the webhook route parses updates with its bot)."""
    application = build_application(app_context(app).settings)
    app_context(app).telegram_application = application
    sender = TelegramSender(application, app_context(app).write_gate)
    return await TelegramService(application, sender, app_context(app).channel_senders).start()


def _enabled(settings: Settings) -> bool:
    return settings.telegram_enabled


CHANNEL = Channel(name=NAME, router=router, start=start_telegram, enabled=_enabled)
