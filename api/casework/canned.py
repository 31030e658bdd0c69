"""Canned replies: seeded from seed/canned_replies.yml, edited by supervisors. A safety-critical
reply keeps the content console's 111 rule (api/content/responses.py), applied here as it is there."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.casework.common import iso, new_seed_items
from api.casework.models import CannedReply
from api.content.models import ContentResponse
from api.content.responses import ContentError, check_hotline, is_safety_critical

SEED_PATH = Path(__file__).resolve().parent / "seed" / "canned_replies.yml"
TEXT_LIMIT = 2000


def seed_canned(session: Session, path: Path = SEED_PATH) -> int:
    """Add the seed file's replies missing by key; a supervisor's edits are never overwritten."""
    added = 0
    for position, item in new_seed_items(session, path, "replies", CannedReply.key):
        reply = CannedReply(key=item["key"], position=position, safety_critical=bool(item.get("safety_critical")))
        apply_edit(reply, {"situation": item["situation"], "title": item["title"], "text": item["text"]})
        session.add(reply)
        added += 1
    return added


def apply_edit(reply: CannedReply, values: dict[str, Any]) -> None:
    """Set situation, title and text; ContentError (nothing changed) when the 111 rule is broken."""
    text = str(values["text"]).strip()
    critical = bool(reply.safety_critical) or is_safety_critical(reply.key or "", [text])
    rule = ContentResponse(name=str(values["title"]), safety_critical=critical)
    check_hotline(rule, [{"text": text}])
    reply.situation = str(values["situation"]).strip()
    reply.title = str(values["title"]).strip()
    reply.text = text
    reply.safety_critical = critical


def new_key(session: Session, title: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:40] or "reply"
    taken = set(session.scalars(select(CannedReply.key).where(CannedReply.key.like(f"{base}%"))))
    if base not in taken:
        return base
    return next(f"{base}_{n}" for n in range(2, len(taken) + 3) if f"{base}_{n}" not in taken)


def all_replies(session: Session) -> list[CannedReply]:
    query = select(CannedReply).where(CannedReply.active.is_(True))
    return list(session.scalars(query.order_by(CannedReply.situation, CannedReply.position, CannedReply.id)))


def reply_out(reply: CannedReply) -> dict[str, Any]:
    return {"id": reply.id, "key": reply.key, "situation": reply.situation, "title": reply.title,
            "text": reply.text, "safety_critical": reply.safety_critical, "updated_at": iso(reply.updated_at)}


__all__ = ["ContentError", "TEXT_LIMIT", "all_replies", "apply_edit", "new_key", "reply_out", "seed_canned"]
