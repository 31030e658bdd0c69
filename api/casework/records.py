"""Reading and saving a case's structured record, and the earlier cases of a returning child."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.cases.models import Case, CaseNote
from api.casework.common import case_reference, iso
from api.casework.models import CaseRecord
from api.db.base import utcnow
from api.security.crypto import Crypto


def record_of(session: Session, case_id: int) -> CaseRecord | None:
    return session.scalar(select(CaseRecord).where(CaseRecord.case_id == case_id))


def values_of(record: CaseRecord | None, crypto: Crypto) -> dict[str, Any]:
    if record is None:
        return {}
    values = json.loads(crypto.decrypt(record.values_encrypted))
    return values if isinstance(values, dict) else {}


def save_values(session: Session, crypto: Crypto, case_id: int, values: dict[str, Any],
                user_id: int) -> CaseRecord:
    record = record_of(session, case_id)
    values_encrypted = crypto.encrypt(json.dumps(values, ensure_ascii=False, sort_keys=True))
    if record is None:
        record = CaseRecord(case_id=case_id, values_encrypted=values_encrypted, version=1)
        session.add(record)
    else:
        record.values_encrypted = values_encrypted
        record.version += 1
    record.updated_by, record.updated_at = user_id, utcnow()
    session.flush()
    return record


def changed_keys(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Which fields a save changed (the audit log names them, never their values)."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def earlier_cases(session: Session, case: Case) -> list[Case]:
    """Cases of the same child opened before this one, newest first. A conversation is one
    pseudonymous sender on one channel (its cases share `sender_id`); its id is indexed on cases."""
    return list(session.scalars(select(Case).where(Case.conversation_id == case.conversation_id, Case.id < case.id)
                                .order_by(Case.id.desc()).limit(50)))


def record_out(case: Case, record: CaseRecord | None, values: dict[str, Any], earlier: int) -> dict[str, Any]:
    return {"case_id": case.id, "reference": case_reference(case.id), "values": values,
            "version": record.version if record else 0, "updated_at": iso(record.updated_at) if record else None,
            "editable": case.status != "closed", "earlier_cases": earlier}


def history_out(session: Session, crypto: Crypto, cases: list[Case]) -> list[dict[str, Any]]:
    """Each earlier case: level, category, outcome, record and notes (staff-only text)."""
    items = []
    for case in cases:
        notes = session.scalars(select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id))
        items.append({
            "id": case.id, "reference": case_reference(case.id), "level": case.level, "category": case.category,
            "status": case.status, "outcome": case.outcome, "opened_at": iso(case.opened_at),
            "closed_at": iso(case.closed_at), "record": values_of(record_of(session, case.id), crypto),
            "notes": [{"kind": n.kind, "text": crypto.decrypt(n.text_encrypted), "at": iso(n.created_at)}
                      for n in notes],
        })
    return items
