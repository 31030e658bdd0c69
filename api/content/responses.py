"""Editable bot responses: versions, the safety rules, seeding from domain.yml and rendering for /nlg."""
from __future__ import annotations

import difflib
import logging
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.content.models import ContentResponse, ResponseVersion, VersionStatus
from api.db.base import utcnow
from api.messaging.texts import catalog

log = logging.getLogger(__name__)

SEED_AUTHOR = "domain.yml"
SAFETY_NAME_PREFIXES = ("utter_disclosure", "utter_imminent", "utter_concern", "utter_request_counselor",
                        "utter_default")
_EMERGENCY_NUMBER_RE = re.compile(r"(?<!\d)(111|113|115)(?!\d)")
_HOTLINE_RE = re.compile(r"(?<!\d)111(?!\d)")
_SLOT_RE = re.compile(r"\{(\w+)\}")
# Keys of a domain.yml variation kept as they are; staff edit text and buttons.
_VARIATION_KEYS = ("text", "buttons", "image", "custom", "channel", "condition")


class ContentError(Exception):
    """A content rule was broken; `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def is_safety_critical(name: str, default_texts: list[str]) -> bool:
    return name.startswith(SAFETY_NAME_PREFIXES) or any(_EMERGENCY_NUMBER_RE.search(t) for t in default_texts)


def clean_variations(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalise [{text, buttons?}] from staff; reject empty texts and malformed buttons."""
    if not raw:
        raise ContentError("Cần ít nhất một biến thể. / At least one variation is required.")
    cleaned = []
    for position, variation in enumerate(raw, start=1):
        text = str(variation.get("text") or "").strip()
        if not text:
            raise ContentError(f"Biến thể {position} chưa có nội dung. / Variation {position} has no text.")
        buttons = []
        for button in variation.get("buttons") or []:
            title = str(button.get("title") or "").strip()
            payload = str(button.get("payload") or "").strip()
            if not title or not payload:
                raise ContentError(f"Nút trong biến thể {position} cần có tên và payload. / "
                                   f"A button in variation {position} needs a title and a payload.")
            cleaned_button = {"title": title, "payload": payload}
            buttons.append(cleaned_button)
        item: dict[str, Any] = {"text": text, "buttons": buttons}
        for key in ("image", "custom", "channel", "condition"):
            if variation.get(key):
                item[key] = variation[key]
        cleaned.append(item)
    return cleaned


def check_hotline(response: ContentResponse, variations: list[dict[str, Any]]) -> None:
    """Safety-critical responses must give 111 in every variation."""
    if not response.safety_critical:
        return
    missing = [str(i) for i, v in enumerate(variations, start=1) if not _HOTLINE_RE.search(v.get("text") or "")]
    if missing:
        which = ", ".join(missing)
        raise ContentError(
            f"Câu trả lời an toàn \"{response.name}\" phải có số tổng đài 111 trong mọi biến thể "
            f"(thiếu ở biến thể {which}). Chưa lưu gì. / Safety-critical response \"{response.name}\" "
            f"must contain the 111 hotline in every variation (missing in variation {which}). Nothing was saved."
        )


# --- seeding ---------------------------------------------------------------------------------------

def load_domain_responses(domain_path: Path) -> dict[str, list[dict[str, Any]]]:
    if not domain_path.is_file():
        log.warning("domain file %s not found: no responses to seed", domain_path)
        return {}
    with domain_path.open(encoding="utf-8") as handle:
        domain = yaml.safe_load(handle) or {}
    responses = domain.get("responses") or {}
    result: dict[str, list[dict[str, Any]]] = {}
    for name, variations in responses.items():
        kept = []
        for variation in variations or []:
            if isinstance(variation, dict):
                item = {k: variation[k] for k in _VARIATION_KEYS if k in variation}
                item.setdefault("text", "")
                item.setdefault("buttons", [])
                kept.append(item)
        result[str(name)] = kept
    return result


def gateway_text_defaults() -> dict[str, list[dict[str, Any]]]:
    """The gateway's own texts (api.messaging.texts) as one-variation responses; domain.yml's entry wins
    for a text Rasa says too."""
    return {text.name: [{"text": text.default, "buttons": []}] for text in catalog()}


def _refresh_default(session: Session, name: str, variations: list[dict[str, Any]]) -> None:
    """A response nobody edited follows domain.yml's new default text: a new live version by domain.yml.

    A live version written by staff, or one pending approval, is left alone.
    """
    response = session.scalar(select(ContentResponse).where(ContentResponse.name == name))
    if response is None:
        return
    current = live_version(session, response.id)
    if current is None or current.author != SEED_AUTHOR or current.variations == variations:
        return
    pending = session.scalar(select(func.count()).select_from(ResponseVersion).where(
        ResponseVersion.response_id == response.id, ResponseVersion.status == "pending"))
    if pending:
        return
    number = (session.scalar(select(func.max(ResponseVersion.version))
                             .where(ResponseVersion.response_id == response.id)) or 0) + 1
    version = ResponseVersion(response_id=response.id, version=number, variations=variations, status="pending",
                              author=SEED_AUTHOR, approved_by=SEED_AUTHOR, approved_at=utcnow(),
                              note="Mặc định mới từ domain.yml")
    session.add(version)
    session.flush()
    _make_live(session, response, version)
    response.safety_critical = is_safety_critical(name, [v.get("text") or "" for v in variations])


def seed_responses(session: Session, domain_responses: dict[str, list[dict[str, Any]]]) -> int:
    """Add every domain.yml response not yet known as its live version 1. Idempotent: staff edits stay;
    a response still at a domain.yml default takes domain.yml's new default."""
    known = set(session.scalars(select(ContentResponse.name)))
    added = 0
    for name, variations in domain_responses.items():
        if name in known:
            _refresh_default(session, name, variations)
            continue
        response = ContentResponse(
            name=name,
            safety_critical=is_safety_critical(name, [v.get("text") or "" for v in variations]),
        )
        session.add(response)
        session.flush()
        session.add(ResponseVersion(response_id=response.id, version=1, variations=variations,
                                    status=VersionStatus.LIVE,
                                    author=SEED_AUTHOR, note="Mặc định từ domain.yml"))
        added += 1
    return added


# --- versions --------------------------------------------------------------------------------------

def get_response(session: Session, name: str) -> ContentResponse:
    response = session.scalar(select(ContentResponse).where(ContentResponse.name == name))
    if response is None:
        raise ContentError(f"Không có câu trả lời \"{name}\". / No response named \"{name}\".", status=404)
    return response


def get_version(session: Session, response: ContentResponse, version: int) -> ResponseVersion:
    row = session.scalar(select(ResponseVersion).where(ResponseVersion.response_id == response.id,
                                                       ResponseVersion.version == version))
    if row is None:
        raise ContentError(f"Không có phiên bản {version}. / No version {version}.", status=404)
    return row


def live_version(session: Session, response_id: int) -> ResponseVersion | None:
    return session.scalar(select(ResponseVersion).where(ResponseVersion.response_id == response_id,
                                                        ResponseVersion.status == VersionStatus.LIVE))


def _make_live(session: Session, response: ContentResponse, version: ResponseVersion) -> None:
    current = live_version(session, response.id)
    if current is not None and current.id != version.id:
        current.status = VersionStatus.SUPERSEDED
        session.flush()  # one live version at a time, even mid-transaction
    version.status = VersionStatus.LIVE


@dataclass
class Author:
    id: int | None
    name: str


def save_version(session: Session, response: ContentResponse, raw_variations: list[dict[str, Any]],
                 author: Author, *, rollback_of: int | None = None, note: str = "") -> ResponseVersion:
    """A new version: live at once, or pending a second person's approval when safety-critical."""
    variations = clean_variations(raw_variations)
    check_hotline(response, variations)
    number = (session.scalar(select(func.max(ResponseVersion.version))
                             .where(ResponseVersion.response_id == response.id)) or 0) + 1
    version = ResponseVersion(response_id=response.id, version=number, variations=variations,
                              status=VersionStatus.PENDING, author=author.name, author_id=author.id,
                              rollback_of=rollback_of, note=note)
    session.add(version)
    session.flush()
    if not response.safety_critical:
        _make_live(session, response, version)
        version.approved_by = author.name
        version.approved_at = version.created_at
    return version


def approve_version(session: Session, response: ContentResponse, version: ResponseVersion,
                    approver: Author) -> ResponseVersion:
    if version.status != VersionStatus.PENDING:
        raise ContentError(f"Phiên bản {version.version} không chờ duyệt. / Version {version.version} "
                           f"is not pending.", status=409)
    if (version.author_id is not None and version.author_id == approver.id) or version.author == approver.name:
        raise ContentError("Người viết không thể tự duyệt: cần người thứ hai. / The author cannot approve "
                           "their own version: a second person must.", status=403)
    check_hotline(response, version.variations)
    _make_live(session, response, version)
    version.approved_by = approver.name
    version.approved_at = utcnow()
    return version


def reject_version(session: Session, version: ResponseVersion, reviewer: Author) -> ResponseVersion:
    if version.status != VersionStatus.PENDING:
        raise ContentError(f"Phiên bản {version.version} không chờ duyệt. / Version {version.version} "
                           f"is not pending.", status=409)
    version.status = VersionStatus.REJECTED
    version.approved_by = reviewer.name
    version.approved_at = utcnow()
    return version


def rollback_to(session: Session, response: ContentResponse, old: ResponseVersion,
                author: Author) -> ResponseVersion:
    """Rolling back saves a new version with the old variations (approved like any edit)."""
    return save_version(session, response, old.variations, author, rollback_of=old.version,
                        note=f"Quay lại phiên bản {old.version}")


def diff_versions(name: str, old: ResponseVersion, new: ResponseVersion) -> str:
    def lines(version: ResponseVersion) -> list[str]:
        out = []
        for i, variation in enumerate(version.variations, start=1):
            out.append(f"# biến thể {i}")
            out.extend((variation.get("text") or "").splitlines())
            for button in variation.get("buttons") or []:
                out.append(f"[nút] {button.get('title')} → {button.get('payload')}")
        return out

    return "\n".join(difflib.unified_diff(lines(old), lines(new), f"{name} v{old.version}",
                                          f"{name} v{new.version}", lineterm=""))


# --- rendering -------------------------------------------------------------------------------------

def fill_template(text: str, values: dict[str, Any]) -> str:
    """Replace {slot} with its value; unknown or empty slots stay as written (as Rasa does)."""
    def substitute(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return match.group(0) if value is None else str(value)

    return _SLOT_RE.sub(substitute, text)


def variations_for(variations: list[dict[str, Any]], channel: str | None) -> list[dict[str, Any]]:
    """The channel's own variations, else the ones for every channel (as Rasa chooses)."""
    for_channel = [v for v in variations if channel and v.get("channel") == channel]
    return for_channel or [v for v in variations if not v.get("channel")]


def pick_variation(variations: list[dict[str, Any]], channel: str | None,
                   chooser: random.Random | None = None) -> dict[str, Any] | None:
    candidates = variations_for(variations, channel)
    if not candidates:
        return None
    return (chooser or random).choice(candidates)


def render(variation: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"text": fill_template(variation.get("text") or "", values),
                           "buttons": [{"title": fill_template(b["title"], values), "payload": b["payload"]}
                                       for b in variation.get("buttons") or []]}
    if variation.get("image"):
        out["image"] = variation["image"]
    if variation.get("custom"):
        out["custom"] = variation["custom"]
    return out


def render_nlg(session: Session, name: str, arguments: dict[str, Any], tracker: dict[str, Any],
               channel: str | None) -> dict[str, Any] | None:
    """The live version of `name` for Rasa's NLG request, or None when unknown (Rasa then uses domain.yml)."""
    response = session.scalar(select(ContentResponse).where(ContentResponse.name == name))
    if response is None:
        return None
    version = live_version(session, response.id)
    if version is None:
        return None
    variation = pick_variation(version.variations, channel)
    if variation is None:
        return None
    values = dict((tracker or {}).get("slots") or {})
    values.update(arguments or {})
    return render(variation, values)


def render_gateway_text(session: Session, name: str, channel: str | None) -> dict[str, Any] | None:
    """The live version of one of the gateway's own texts (welcome, handoff notices…): its first
    variation for the channel, else its first, so a notice reads the same every time; None when unknown."""
    response = session.scalar(select(ContentResponse).where(ContentResponse.name == name))
    version = live_version(session, response.id) if response is not None else None
    if version is None:
        return None
    candidates = variations_for(version.variations, channel)
    return render(candidates[0], {}) if candidates else None
