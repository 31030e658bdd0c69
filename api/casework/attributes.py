"""Commune/ward and age group read from the structured case records, for case search and the monthly
report (`api.cases.attributes.CaseRecords`, installed on the app context by `api.casework.setup`).

The values are Fernet-encrypted (one JSON document per case), so nothing can be matched in SQL: the
records of the cases asked about are decrypted here, in memory, and only the two attributes leave.
The commune is the value of the record's `commune`-kind field (fields are data), the age group the
value of `age_group`. Names compare folded as the place directory folds them: no diacritics, no
case, with or without "Phường", "Xã", "Đặc khu" ("phuong tam ky", "Tam Kỳ" and "Phường Tam Kỳ").
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from api.cases.attributes import UNKNOWN, CaseAttributes, CommuneFilter, is_unknown
from api.cases.models import Case
from api.casework.models import CaseRecord, RecordField
from api.content.places import load_units
from api.security.crypto import Crypto

AGE_GROUP_KEY = "age_group"
# The commune filter decrypts at most this many records (newest cases first), as `q` does with notes.
RECORD_SEARCH_LIMIT = 2000
_CHUNK = 500  # case ids per IN (…) when reading the records of many cases


def commune_field_key(session: Session) -> str:
    """The key of the record's commune field (the first of kind `commune`; "commune" as seeded)."""
    key = session.scalar(select(RecordField.key).where(RecordField.kind == "commune")
                         .order_by(RecordField.active.desc(), RecordField.position, RecordField.id).limit(1))
    return key or "commune"


def commune_name_key(name: str) -> str:
    """"Phường Tam Kỳ", "phuong tam ky" and "Tam Kỳ" give the same key."""
    return load_units().commune_key(name)


class RecordAttributes:
    """Reads the case records with the app's Crypto."""

    def __init__(self, crypto: Crypto) -> None:
        self.crypto = crypto

    def _values(self, sealed: str) -> dict[str, Any]:
        values = json.loads(self.crypto.decrypt(sealed))
        return values if isinstance(values, dict) else {}

    def attributes_of(self, session: Session, case_ids: Sequence[int]) -> dict[int, CaseAttributes]:
        found = {case_id: CaseAttributes() for case_id in case_ids}
        commune_key = commune_field_key(session)
        ids = list(found)
        for start in range(0, len(ids), _CHUNK):
            rows = session.execute(select(CaseRecord.case_id, CaseRecord.values_encrypted)
                                   .where(CaseRecord.case_id.in_(ids[start:start + _CHUNK])))
            for case_id, sealed in rows:
                values = self._values(sealed)
                found[case_id] = CaseAttributes(commune=str(values.get(commune_key) or UNKNOWN),
                                                age_group=str(values.get(AGE_GROUP_KEY) or UNKNOWN))
        return found

    def commune_filter(self, session: Session, conditions: Sequence[ColumnElement[bool]],
                       commune: str) -> CommuneFilter:
        """Decrypts the records of the cases meeting `conditions`, newest first, at most
        RECORD_SEARCH_LIMIT of them; a case without a record has no commune (UNKNOWN)."""
        unknown = is_unknown(commune)
        wanted = "" if unknown else commune_name_key(commune)
        commune_key = commune_field_key(session)
        rows = session.execute(select(CaseRecord.case_id, CaseRecord.values_encrypted)
                               .join(Case, Case.id == CaseRecord.case_id).where(*conditions)
                               .order_by(CaseRecord.case_id.desc()).limit(RECORD_SEARCH_LIMIT + 1)).all()
        truncated = len(rows) > RECORD_SEARCH_LIMIT
        matched = []
        for case_id, sealed in rows[:RECORD_SEARCH_LIMIT]:
            recorded = str(self._values(sealed).get(commune_key) or "")
            if (commune_name_key(recorded) if recorded else "") == wanted and (wanted or unknown):
                matched.append(case_id)
        condition: ColumnElement[bool] = Case.id.in_(matched)
        if unknown:
            condition = or_(condition, ~exists().where(CaseRecord.case_id == Case.id))
        return CommuneFilter(condition, truncated)
