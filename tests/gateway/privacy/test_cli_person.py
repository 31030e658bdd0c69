"""`python -m api.cli export|erase`: one person's data by channel and platform id, audited;
refused while a case is open (the request waits for a supervisor)."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from api.auth.models import AuditLog
from api.cli import main as cli_main
from api.db.session import Database
from api.privacy.models import ErasureRequest
from api.security.crypto import Crypto
from api.settings import Settings, get_settings
from tests.gateway.privacy.conftest import RasaEvents
from tests.gateway.privacy.people import case_for, person

KEY = Fernet.generate_key().decode()


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Crypto]:
    """The command line's environment: this test's database, keys and tracker store."""
    for name, value in (("DATABASE_URL", database_url), ("ID_HMAC_SECRET", "cli-test"),
                        ("DATA_ENCRYPTION_KEY", KEY), ("PURGE_TRACKER_STORE_URL", database_url)):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield Crypto(Settings(_env_file=None, id_hmac_secret="cli-test", data_encryption_key=KEY))  # type: ignore[call-arg]
    get_settings.cache_clear()


def test_export_then_erase(database: Database, cli_env: Crypto, rasa_events: RasaEvents, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    with database.transaction() as session:
        sender = person(session, cli_env, "4242", age_days=1).sender_id
    rasa_events.add(sender, 5)

    output = tmp_path / "export.json"
    assert cli_main(["export", "--channel", "telegram", "--user-id", "4242", "--output", str(output)]) == 0
    assert os.stat(output).st_mode & 0o777 == 0o600
    exported = json.loads(output.read_text(encoding="utf-8"))
    assert {m["text"] for m in exported["messages"]} >= {"tin nhắn 0 của 4242", "trả lời 1"}

    assert cli_main(["erase", "--channel", "telegram", "--user-id", "4242", "--reason", "mẹ em gọi điện"]) == 0
    out = capsys.readouterr().out
    assert "rasa_tracker" in out and "conversations" in out
    assert rasa_events.count(sender) == 0
    assert cli_main(["export", "--channel", "telegram", "--user-id", "4242"]) == 0
    assert json.loads(capsys.readouterr().out)["messages"] == []
    with database.session() as session:
        actions = [entry.action for entry in session.scalars(select(AuditLog).order_by(AuditLog.id))]
        tombstone = session.scalar(select(ErasureRequest))
    assert actions == ["privacy.export", "privacy.erased", "privacy.export"]
    assert tombstone is not None and tombstone.status == "done" and tombstone.sender_id is None
    assert tombstone.reason == "mẹ em gọi điện" and tombstone.counts["inbound_messages"] == 2


def test_erase_refused_with_an_open_case(database: Database, cli_env: Crypto,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    with database.transaction() as session:
        case_for(session, cli_env, person(session, cli_env, "5151", age_days=1), status="active")
    assert cli_main(["erase", "--channel", "telegram", "--user-id", "5151", "--reason", "bố yêu cầu"]) == 2
    assert "awaits a supervisor" in capsys.readouterr().err
    with database.session() as session:
        request = session.scalar(select(ErasureRequest))
    assert request is not None and (request.status, request.via) == ("supervisor", "cli")
    assert cli_main(["export", "--channel", "telegram", "--user-id", "5151"]) == 0
    assert len(json.loads(capsys.readouterr().out)["messages"]) == 4
