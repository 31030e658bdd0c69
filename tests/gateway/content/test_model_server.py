"""GET /api/v1/model: the model Rasa replicas pull (Rasa's model server protocol), and a retrain
that passes the guard replaces it when MODEL_DELIVERY=pull."""
from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from api.content.model_server import ServedModel
from api.settings import Settings

TOKEN = "rasa-token-for-tests"  # noqa: S105


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"served_model_path": str(tmp_path / "served" / "current.tar.gz"),
                                       "rasa_token": SecretStr(TOKEN)})


@pytest.mark.asyncio
async def test_rasa_gets_the_file_then_304_until_it_changes(client: httpx.AsyncClient, app: FastAPI,
                                                            settings: Settings, tmp_path: Path) -> None:
    assert (await client.get("/api/v1/model", params={"token": TOKEN})).status_code == 404  # nothing yet
    first = tmp_path / "first.tar.gz"
    first.write_bytes(b"model one")
    app.state.context.retrain_runner.served.publish(first)

    head = await client.head("/api/v1/model", params={"token": TOKEN})  # what a starting replica waits for
    assert head.status_code == 200 and head.content == b""
    pulled = await client.get("/api/v1/model", params={"token": TOKEN})
    assert pulled.status_code == 200 and pulled.content == b"model one"
    fingerprint = pulled.headers["etag"]
    assert fingerprint == hashlib.sha256(b"model one").hexdigest()  # Rasa keeps it as the fingerprint
    again = await client.get("/api/v1/model", params={"token": TOKEN}, headers={"If-None-Match": fingerprint})
    assert again.status_code == 304 and again.content == b""

    second = tmp_path / "second.tar.gz"
    second.write_bytes(b"model two, approved")
    app.state.context.retrain_runner.served.publish(second)
    changed = await client.get("/api/v1/model", params={"token": TOKEN}, headers={"If-None-Match": fingerprint})
    assert changed.status_code == 200 and changed.content == b"model two, approved"
    assert changed.headers["etag"] != fingerprint


@pytest.mark.asyncio
async def test_the_model_needs_rasas_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/model")).status_code == 403
    assert (await client.get("/api/v1/model", params={"token": "wrong"})).status_code == 403
    assert (await client.get("/api/v1/model", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 404


def test_publishing_replaces_the_file_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    served = ServedModel(tmp_path / "models" / "current.tar.gz")
    assert served.fingerprint() is None
    candidate = tmp_path / "candidate.tar.gz"
    candidate.write_bytes(b"x" * 3_000_000)
    fingerprint = served.publish(candidate)
    assert fingerprint == hashlib.sha256(b"x" * 3_000_000).hexdigest() == served.fingerprint()
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["current.tar.gz"]
