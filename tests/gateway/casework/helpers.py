"""Cases for the casework tests, written as a child's disclosure would write them."""
from __future__ import annotations

from typing import Any

from api.messaging.inbound import accept_inbound
from api.messaging.models import Conversation
from api.messaging.risk import Risk


def disclose(app: Any, user: str, key: str, text: str = "chú ấy đánh em chảy máu",
             level: str = "high", category: str = "disclose_physical_abuse", channel: str = "telegram") -> int:
    """A child's message read at `level`: opens (or joins) the conversation's case; its id."""
    context = app.state.context
    with context.database.transaction() as session:
        inbound = accept_inbound(session, channel=channel, platform_user_id=user, platform_message_key=key,
                                 kind="text", text=text, crypto=context.crypto)
        conversation = session.get(Conversation, inbound.conversation_id)
        change = context.case_log.record_child_message(session, conversation, inbound_id=inbound.id, text=text,
                                                       risk=Risk(level, category, []))
        return int(change.case.id)


def app_of(http: Any) -> Any:
    return http._transport.app
