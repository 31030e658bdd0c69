"""Wiring for the web chat: registers its sender and purges old mailbox rows in the background."""
from __future__ import annotations

import logging

from fastapi import FastAPI

from api.channels.base import Channel
from api.channels.webchat.mailbox import WebChatMailbox, WebChatSender
from api.channels.webchat.routes import router
from api.channels.webchat.wakeups import RedisWakeups
from api.context import app_context
from api.tasks import PeriodicTask

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0


class WebChatService:
    def __init__(self, app: FastAPI, mailbox: WebChatMailbox) -> None:
        self._app = app
        self.mailbox = mailbox
        self.sender = WebChatSender(mailbox)
        self._task = PeriodicTask("webchat-purge", self._purge, PURGE_EVERY_SECONDS)
        self._relay: RedisWakeups | None = None

    async def start(self) -> WebChatService:
        app_context(self._app).channel_senders.register(self.sender)
        self._task.start()
        url = app_context(self._app).settings.case_events_redis_url
        if url:  # replies stored by another gateway process wake this one's browsers
            self._relay = await RedisWakeups(url, self.mailbox.wakeups).start()
        return self

    async def _purge(self) -> None:
        removed = await self.mailbox.purge_old()
        if removed:
            log.info("web chat: purged %d old replies", removed)

    async def stop(self) -> None:
        app_context(self._app).channel_senders.unregister(self.sender.channel)
        await self._task.stop()
        if self._relay is not None:
            await self._relay.stop()


async def start_webchat(app: FastAPI) -> WebChatService:
    """Startup service (app_context(app).startup_services)."""
    mailbox = WebChatMailbox(app_context(app).write_gate, app_context(app).crypto)
    app_context(app).webchat_mailbox = mailbox
    return await WebChatService(app, mailbox).start()


CHANNEL = Channel(name="web", router=router, start=start_webchat)
