"""Campaign staff run the content but never see case transcripts; every content change is audited."""
from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.auth.models import AuditLog
from api.content.models import ContentResponse
from api.content.responses import load_domain_responses, seed_responses
from api.db.session import Database
from api.settings import Settings
from tests.gateway.staff import staff_token

pytestmark = pytest.mark.asyncio


async def test_campaign_staff_cannot_read_cases_and_changes_are_audited(client: httpx.AsyncClient,
                                                                       app: FastAPI) -> None:
    staff = staff_token(app, "lan@example.org")
    assert (await client.get("/api/v1/cases", headers=staff)).status_code == 403
    assert (await client.get("/api/v1/cases/1", headers=staff)).status_code == 403

    await client.post("/api/v1/responses/utter_thank/versions", headers=staff, json={"variations": [{"text": "A"}]})
    await client.post("/api/v1/responses/utter_thank/versions/1/rollback", headers=staff)
    await client.post("/api/v1/quizzes", headers=staff, json={"title": "Q", "questions": [
        {"text": "?", "options": ["a", "b"], "correct": 0, "explanation": "e"}]})
    created = (await client.post("/api/v1/broadcasts", headers=staff, json={
        "title": "T", "text": "x", "channels": ["telegram"]})).json()
    await client.post(f"/api/v1/broadcasts/{created['id']}/send", headers=staff)
    await client.post("/api/v1/directory", headers=staff, json={
        "name": "Cán bộ bảo vệ trẻ em phường Tam Kỳ", "kind": "child_protection_officer", "province": "Đà Nẵng",
        "commune": "Phường Tam Kỳ", "phone": "0235 3000 001"})
    with app.state.context.database.session() as session:
        actions = list(session.scalars(select(AuditLog.action).where(AuditLog.action.like("content.%"))
                                       .order_by(AuditLog.id)))
    assert actions == ["content.response.save", "content.response.rollback", "content.quiz.save",
                       "content.broadcast.create", "content.broadcast.send", "content.directory.add"]


async def test_real_domain_seeds_with_111_responses_safety_critical(database: Database, settings: Settings) -> None:
    from pathlib import Path

    domain = Path(settings.repo_root) / "domain.yml"
    responses = load_domain_responses(domain)
    if not responses:
        pytest.skip("domain.yml has no responses yet")
    with database.transaction() as session:
        assert seed_responses(session, responses) == len(responses)
        assert seed_responses(session, responses) == 0
    with database.session() as session:
        critical = {r.name for r in session.scalars(select(ContentResponse)) if r.safety_critical}
    with_111 = {name for name, variations in responses.items() if any("111" in (v.get("text") or "")
                                                                     for v in variations)}
    assert with_111 <= critical
    assert {n for n in responses if n.startswith(("utter_disclosure", "utter_imminent"))} <= critical
