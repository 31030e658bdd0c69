"""The case record API: its schema (fields as data, edited by admins), a case's record, and the
earlier cases of a returning child. Every read and change is audited (field names, never values)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.auth.audit import audit
from api.casework import records, schema
from api.casework.common import check_may_change, load_case, unprocessable
from api.casework.models import RecordField
from api.deps import ERROR_RESPONSES, AdminUser, CaseWorker, Ctx, DbSession, RowId
from api.security.json_body import GuardedJsonRoute

router = APIRouter(prefix="/api/v1", tags=["casework: record"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)


class RecordIn(BaseModel):
    values: dict[str, Any]
    # The version the console last read: a save over someone else's newer one answers 409.
    version: int | None = Field(default=None, ge=0)


class FieldIn(BaseModel):
    label: str = Field(min_length=1, max_length=120)
    kind: str
    help: str = Field(default="", max_length=300)
    options: list[Any] = Field(default_factory=list, max_length=schema.MAX_OPTIONS)
    position: int = Field(default=0, ge=0, le=100000)
    active: bool = True


@router.get("/case-record/schema")
def get_schema(user: CaseWorker, session: DbSession) -> dict[str, Any]:
    """The record's fields and their lists (province options carry their communes)."""
    return schema.schema_out(session)


@router.put("/case-record/fields/{key}")
def put_field(key: str, body: FieldIn, user: AdminUser, session: DbSession) -> dict[str, Any]:
    """Add or change a field (admins). A retired option stays valid in the records that hold it."""
    try:
        definition = schema.check_definition({"key": key, **body.model_dump()})
    except schema.RecordError as error:
        raise unprocessable(str(error)) from None
    field = session.scalar(select(RecordField).where(RecordField.key == key))
    created = field is None
    if field is None:
        field = RecordField(key=key)
        session.add(field)
    elif field.kind != definition["kind"]:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Không đổi được loại của trường đã có. / "
                                                             "A field's kind cannot change.")
    for name in ("label", "kind", "help", "options", "position", "active"):
        setattr(field, name, definition[name])
    audit(session, user, "case_record.field_create" if created else "case_record.field_update",
          f"record_field:{key}", {"options": len(definition["options"]), "active": definition["active"]})
    session.commit()
    return schema.field_out(field, schema.served_provinces(schema.active_fields(session)))


@router.get("/cases/{case_id}/record")
def get_record(case_id: RowId, user: CaseWorker, session: DbSession, context: Ctx) -> dict[str, Any]:
    case = load_case(session, case_id)
    record = records.record_of(session, case.id)
    body = records.record_out(case, record, records.values_of(record, context.crypto),
                              len(records.earlier_cases(session, case)))
    audit(session, user, "case.record.view", f"case:{case.id}", {})
    session.commit()
    return body


@router.put("/cases/{case_id}/record")
def put_record(case_id: RowId, body: RecordIn, user: CaseWorker, session: DbSession, context: Ctx) -> dict[str, Any]:
    """Save the whole record (the console autosaves); checked against the schema; 409 once closed."""
    case = load_case(session, case_id)
    check_may_change(case, user)
    record = records.record_of(session, case.id)
    if body.version is not None and record is not None and body.version != record.version:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Hồ sơ vừa được người khác sửa: tải lại để xem. / "
                                                             "The record changed meanwhile: reload it.")
    before = records.values_of(record, context.crypto)
    try:
        values = schema.validate_values(schema.active_fields(session), body.values, before)
    except schema.RecordError as error:
        raise unprocessable(str(error)) from None
    record = records.save_values(session, context.crypto, case.id, values, user.id)
    audit(session, user, "case.record.update", f"case:{case.id}",
          {"fields": records.changed_keys(before, values), "version": record.version})
    session.commit()
    return records.record_out(case, record, values, len(records.earlier_cases(session, case)))


@router.get("/cases/{case_id}/history")
def get_history(case_id: RowId, user: CaseWorker, session: DbSession, context: Ctx) -> list[dict[str, Any]]:
    """The earlier cases of the same child (same pseudonymous sender), newest first."""
    case = load_case(session, case_id)
    earlier = records.earlier_cases(session, case)
    body = records.history_out(session, context.crypto, earlier)
    audit(session, user, "case.history", f"case:{case.id}", {"count": len(earlier)})
    session.commit()
    return body
