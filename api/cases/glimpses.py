"""What a counselor reads before opening a case: the queue's excerpt (the child's latest words in the
case) and the child's messages just before the case opened (from the conversation's stored
messages). Decrypted only here, for the case API, which only case workers may call."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.cases.models import Case, CaseMessage
from api.cases.service import _aware, _iso, excerpt
from api.labels import button_label, shown_text
from api.messaging.models import InboundMessage
from api.security.crypto import Crypto

EARLIER_LIMIT = 10
EARLIER_WINDOW = timedelta(hours=24)
TEXT_KINDS = ("text", "button")


def excerpts(session: Session, crypto: Crypto, case_ids: Iterable[int]) -> dict[int, str]:
    """Case id → a short excerpt of the child's latest message in it (button taps named)."""
    ids = list(case_ids)
    if not ids:
        return {}
    latest = (select(func.max(CaseMessage.id)).where(CaseMessage.case_id.in_(ids), CaseMessage.author == "child")
              .group_by(CaseMessage.case_id))
    rows = session.execute(select(CaseMessage.case_id, CaseMessage.text_encrypted).where(CaseMessage.id.in_(latest)))
    return {case_id: excerpt(shown_text(crypto.decrypt(token))) for case_id, token in rows}


def earlier_messages(session: Session, crypto: Crypto, case: Case) -> list[dict[str, Any]]:
    """The child's last messages (at most EARLIER_LIMIT, within EARLIER_WINDOW) before the case opened,
    oldest first; messages already in the case's transcript are left out."""
    opened = _aware(case.opened_at)
    in_case = select(CaseMessage.inbound_message_id).where(CaseMessage.case_id == case.id,
                                                          CaseMessage.inbound_message_id.is_not(None))
    rows = session.scalars(
        select(InboundMessage).where(
            InboundMessage.conversation_id == case.conversation_id,
            InboundMessage.kind.in_(TEXT_KINDS), InboundMessage.text_encrypted.is_not(None),
            InboundMessage.received_at <= opened,
            InboundMessage.received_at >= opened - EARLIER_WINDOW,
            InboundMessage.id.not_in(in_case))
        .order_by(InboundMessage.id.desc()).limit(EARLIER_LIMIT))
    earlier = []
    for row in reversed(list(rows)):
        text = crypto.decrypt(row.text_encrypted or "")
        earlier.append({"id": row.id, "text": text, "button": button_label(text), "at": _iso(row.received_at)})
    return earlier
