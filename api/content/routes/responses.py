"""Routes for editable responses and Rasa's NLG endpoint."""
from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from api.auth import audit
from api.content.deps import ContentReviewer, ContentStaff, author_of, http_error
from api.content.inbox import known_topics
from api.content.models import ContentResponse, ResponseVersion, VersionStatus
from api.content.responses import (
    ContentError,
    approve_version,
    check_hotline,
    clean_variations,
    diff_versions,
    get_response,
    get_version,
    reject_version,
    render,
    render_gateway_text,
    render_nlg,
    rollback_to,
    save_version,
)
from api.content.routes.common import repo_path
from api.content.safe_words import check_response
from api.content.titles import action_label, button_actions, matches, title_of
from api.context import app_context
from api.db.session import Database
from api.deps import ERROR_RESPONSES, AppSettings, DbSession, RowId
from api.messaging.texts import catalog
from api.security.json_body import INT64_MAX, GuardedJsonRoute

router = APIRouter(prefix="/api/v1/responses", tags=["content: responses"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)
nlg_router = APIRouter(tags=["content: responses"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)


class Button(BaseModel):
    title: str = Field(max_length=200)
    payload: str = Field(max_length=500)


class Variation(BaseModel):
    text: str = Field(max_length=4000)
    buttons: list[Button] = Field(default_factory=list, max_length=10)


class VersionIn(BaseModel):
    variations: list[Variation] = Field(min_length=1, max_length=20)
    note: str = Field(default="", max_length=500)


class PreviewIn(BaseModel):
    variations: list[Variation] = Field(min_length=1, max_length=20)
    slots: dict[str, Any] = Field(default_factory=dict)


def _variations_out(variations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"text": v.get("text") or "", "buttons": v.get("buttons") or [],
             **({"channel": v["channel"]} if v.get("channel") else {})} for v in variations]


def _version_out(version: ResponseVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "status": version.status,
        "variations": _variations_out(version.variations),
        "author": version.author,
        "created_at": version.created_at.isoformat(),
        "approved_by": version.approved_by,
        "approved_at": version.approved_at.isoformat() if version.approved_at else None,
        "rollback_of": version.rollback_of,
        "note": version.note,
    }


def _target(name: str) -> str:
    return f"response:{name}"[:64]


@router.get("")
def list_responses(db: DbSession, _user: ContentReviewer,
                   q: Annotated[str, Query(max_length=200)] = "") -> list[dict[str, Any]]:
    """Every response with its title, description and live variations (each: text and buttons).

    `q` keeps those whose title, description or text holds every word, with or without diacritics."""
    responses = db.scalars(select(ContentResponse).order_by(ContentResponse.name)).all()
    live = {v.response_id: v
            for v in db.scalars(select(ResponseVersion).where(ResponseVersion.status == VersionStatus.LIVE))}
    pending = dict(db.execute(select(ResponseVersion.response_id, func.count())
                              .where(ResponseVersion.status == VersionStatus.PENDING)
                              .group_by(ResponseVersion.response_id)).all())
    out = []
    for response in responses:
        version = live.get(response.id)
        variations = _variations_out(version.variations) if version else []
        titled = title_of(response.name)
        if q and not matches(q, titled["title"], titled["description"], *(v["text"] for v in variations)):
            continue
        out.append({
            "name": response.name,
            **titled,
            "safety_critical": response.safety_critical,
            "live_version": version.version if version else None,
            "variations": variations,
            "pending_versions": pending.get(response.id, 0),
        })
    return out


@router.get("/actions")
def list_button_actions(settings: AppSettings, db: DbSession, _user: ContentReviewer) -> list[dict[str, str]]:
    """What a button may do, each with a readable label (the editor picks from this list)."""
    names = list(db.scalars(select(ContentResponse.name).order_by(ContentResponse.name)))
    used = [str(b.get("payload") or "") for v in db.scalars(select(ResponseVersion.variations)
                                                              .where(ResponseVersion.status == VersionStatus.LIVE))
            for variation in v for b in (variation.get("buttons") or []) if b.get("payload")]
    return button_actions(known_topics(repo_path(settings, settings.domain_path)), names, used)


@router.get("/{name}/versions")
def list_versions(name: str, db: DbSession, _user: ContentReviewer) -> dict[str, Any]:
    try:
        response = get_response(db, name)
    except ContentError as error:
        raise http_error(error) from None
    versions = db.scalars(select(ResponseVersion).where(ResponseVersion.response_id == response.id)
                          .order_by(ResponseVersion.version.desc())).all()
    return {"name": response.name, **title_of(response.name), "safety_critical": response.safety_critical,
            "versions": [_version_out(v) for v in versions]}


@router.post("/{name}/versions", status_code=status.HTTP_201_CREATED)
def create_version(name: str, body: VersionIn, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    """Save a new version: live at once, or pending a second person's approval when safety-critical."""
    try:
        response = get_response(db, name)
        version = save_version(db, response, [v.model_dump() for v in body.variations], author_of(user),
                               note=body.note)
    except ContentError as error:
        raise http_error(error) from None
    audit(db, user, "content.response.save", _target(name),
          {"version": version.version, "status": version.status})
    db.commit()
    # The writing rules (docs/content.md) warn; they never block a save.
    return {**_version_out(version), "warnings": check_response(name, version.variations)}


@router.post("/{name}/versions/{version}/approve")
def approve(name: str, version: RowId, db: DbSession, user: ContentReviewer) -> dict[str, Any]:
    try:
        response = get_response(db, name)
        row = approve_version(db, response, get_version(db, response, version), author_of(user))
    except ContentError as error:
        raise http_error(error) from None
    audit(db, user, "content.response.approve", _target(name), {"version": version})
    db.commit()
    return _version_out(row)


@router.post("/{name}/versions/{version}/reject")
def reject(name: str, version: RowId, db: DbSession, user: ContentReviewer) -> dict[str, Any]:
    try:
        response = get_response(db, name)
        row = reject_version(db, get_version(db, response, version), author_of(user))
    except ContentError as error:
        raise http_error(error) from None
    audit(db, user, "content.response.reject", _target(name), {"version": version})
    db.commit()
    return _version_out(row)


@router.post("/{name}/versions/{version}/rollback", status_code=status.HTTP_201_CREATED)
def rollback(name: str, version: RowId, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    """A new version copying an old one (pending approval when safety-critical)."""
    try:
        response = get_response(db, name)
        row = rollback_to(db, response, get_version(db, response, version), author_of(user))
    except ContentError as error:
        raise http_error(error) from None
    audit(db, user, "content.response.rollback", _target(name),
          {"from_version": version, "version": row.version, "status": row.status})
    db.commit()
    return _version_out(row)


@router.get("/{name}/diff")
def diff(name: str, db: DbSession, _user: ContentReviewer,
         from_version: Annotated[int, Query(alias="from", ge=1, le=INT64_MAX)],
         to_version: Annotated[int, Query(alias="to", ge=1, le=INT64_MAX)]) -> dict[str, Any]:
    try:
        response = get_response(db, name)
        old, new = get_version(db, response, from_version), get_version(db, response, to_version)
    except ContentError as error:
        raise http_error(error) from None
    return {"name": name, "from": from_version, "to": to_version, "diff": diff_versions(name, old, new)}


@router.post("/{name}/preview")
def preview(name: str, body: PreviewIn, db: DbSession, _user: ContentReviewer) -> dict[str, Any]:
    """How unsaved variations would look, with the problems saving would report."""
    try:
        response = get_response(db, name)
        variations = clean_variations([v.model_dump() for v in body.variations])
    except ContentError as error:
        raise http_error(error) from None
    problems = []
    try:
        check_hotline(response, variations)
    except ContentError as error:
        problems.append(error.message)
    rendered = [render(v, body.slots) for v in variations]
    hint = _zalo_choice_hint(db)
    for item in rendered:
        # Zalo has no buttons: the user sees a numbered list and the hint under it.
        options = "\n".join(f"{i}. {b['title']}" for i, b in enumerate(item["buttons"], start=1))
        item["zalo_text"] = item["text"] + (f"\n\n{options}\n{hint}" if options else "")
        item["action_labels"] = [action_label(str(b.get("payload") or "")) for b in item["buttons"]]
    return {"name": name, **title_of(name), "safety_critical": response.safety_critical, "rendered": rendered,
            "zalo_choice_hint": hint, "problems": problems, "warnings": check_response(name, variations)}


ZALO_CHOICE_HINT = "utter_zalo_choice_hint"


def _zalo_choice_hint(db: Any) -> str:
    """The live line Zalo shows under a numbered list of choices (a gateway text, seeded at start)."""
    live = render_gateway_text(db, ZALO_CHOICE_HINT, "zalo")
    if live and live.get("text"):
        return str(live["text"])
    defaults = {t.name: t.default for t in catalog()}
    return defaults.get(ZALO_CHOICE_HINT, "")


# --- Rasa's NLG endpoint ----------------------------------------------------------------------------

def _check_nlg_token(request: Request, settings: AppSettings) -> None:
    expected = settings.nlg_token.get_secret_value()
    if not expected:
        return
    given = request.query_params.get("token") or request.headers.get("authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="invalid NLG token")


@nlg_router.post("/nlg")
async def nlg(request: Request, settings: AppSettings) -> dict[str, Any]:
    """Rasa's NLG request {"response","arguments","tracker","channel"} → the live text of that response.

    Unknown responses answer 404, so Rasa falls back to domain.yml's text.
    Rasa asks this for every bot line, many at once: the read takes a pooled connection and gives it
    back before the handler next awaits. A request-long session (DbSession) would hold one across the
    response, and once the pool ran dry the event loop itself would block waiting for a connection
    only the loop could free (the whole gateway stalled for the pool timeout).
    """
    _check_nlg_token(request, settings)
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="body must be JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("response"), str):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail='"response" (a string) is required')
    def as_dict(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    arguments, tracker, channel = as_dict(body.get("arguments")), as_dict(body.get("tracker")), as_dict(
        body.get("channel"))
    database: Database = app_context(request.app).database
    with database.session() as db:
        rendered = render_nlg(db, body["response"], arguments, tracker, channel.get("name"))
    if rendered is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="unknown response")
    return rendered
