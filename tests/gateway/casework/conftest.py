"""Fixtures of the casework tests: the app started with staff accounts, signed-in staff, and a local
SMTP server (aiosmtpd) that keeps what it receives."""
from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller

from api.main import create_app
from api.settings import Settings
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, create_staff, login, staff_settings


class Mailbox:
    """aiosmtpd handler: every message received, parsed."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.raw.append(envelope.content)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def casework_settings(settings: Settings, smtp_server: tuple[Mailbox, int]) -> Settings:
    return staff_settings(settings, smtp_host="127.0.0.1", smtp_port=smtp_server[1],
                          smtp_from="tuvan@example.org.vn", referral_check_seconds=0.3)


@pytest_asyncio.fixture
async def staff_client(casework_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app started (seeded), called in-process; `.headers_for[role]` signs staff in."""
    app = create_app(casework_settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test") as http:
            yield http


@pytest_asyncio.fixture
async def staff(staff_client: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    """Authorization headers: an admin, a supervisor and two counselors."""
    admin = await login(staff_client, ADMIN_EMAIL, ADMIN_PASSWORD)
    return {
        "admin": admin,
        "supervisor": await create_staff(staff_client, admin, "giamsat@example.vn", "supervisor", "Giám sát Lan"),
        "counselor": await create_staff(staff_client, admin, "tuvan1@example.vn", "counselor", "Tư vấn An"),
        "other": await create_staff(staff_client, admin, "tuvan2@example.vn", "counselor", "Tư vấn Bình"),
    }
