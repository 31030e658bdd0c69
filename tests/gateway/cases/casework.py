"""Helpers of the helpline-operations tests: an app served in-process with its lifespan, cases
logged straight through the case log, staff accounts straight in the database."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from api.auth.models import User
from api.auth.passwords import hash_password
from api.auth.tokens import issue_token
from api.cases.models import Case
from api.main import create_app
from api.messaging.inbound import accept_inbound
from api.messaging.models import Conversation, InboundStatus
from api.messaging.risk import Risk
from api.settings import Settings
from tests.gateway.staff import staff_settings


@asynccontextmanager
async def served(settings: Settings, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app (workers and notifier running) behind an in-process HTTP client."""
    app = create_app(staff_settings(settings, **overrides))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test") as http:
            yield http


def app_of(http: httpx.AsyncClient) -> FastAPI:
    return http._transport.app  # type: ignore[attr-defined,no-any-return]


def disclose(app: FastAPI, channel: str, user: str, key: str, text: str, level: str,
             category: str | None = None) -> int:
    """A child's message read at `level`: the case log opens (or joins) the conversation's case."""
    context = app.state.context
    with context.database.transaction() as session:
        inbound = accept_inbound(session, channel=channel, platform_user_id=user, platform_message_key=key,
                                 kind="text", text=text, crypto=context.crypto)
        inbound.status = InboundStatus.DONE  # logged here; the inbound worker leaves it alone
        conversation = session.get(Conversation, inbound.conversation_id)
        change = context.case_log.record_child_message(session, conversation, inbound_id=inbound.id, text=text,
                                                       risk=Risk(level, category, []))
        return int(change.case.id)


def staff(app: FastAPI, email: str, role: str, name: str | None = None) -> tuple[int, dict[str, str]]:
    """An account made in the database: its id and Authorization header."""
    settings: Settings = app.state.context.settings
    with app.state.context.database.transaction() as session:
        user = User(email=email, display_name=name or email.split("@")[0], password_hash=hash_password("x" * 12),
                    role=role)
        session.add(user)
        session.flush()
        token = issue_token(settings.session_secret.get_secret_value(), user.id, user.token_version,
                            settings.access_token_minutes)
        return user.id, {"Authorization": f"Bearer {token}"}


def update_case(app: FastAPI, case_id: int, **values: Any) -> None:
    with app.state.context.database.transaction() as session:
        case = session.get(Case, case_id)
        assert case is not None
        for key, value in values.items():
            setattr(case, key, value)
