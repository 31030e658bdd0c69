"""Key rotation: after `rotate-keys` every encrypted value in every table opens with the new key
alone, so the old key can be removed; every place the code encrypts follows the naming rotation
relies on, and every encrypted column is filled here (a new one fails until it is added)."""
from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet, InvalidToken
from fastapi import FastAPI
from sqlalchemy import String, Text, select

from api.auth.models import User
from api.auth.two_factor_models import UserTwoFactor
from api.cases.models import Case, CaseNote
from api.casework.models import CaseRecord, Referral
from api.channels.webchat.models import WebChatReply
from api.channels.zalo.models import ZaloOaToken
from api.content.models import InboxItem
from api.db.session import Database
from api.models import Base
from api.security.commands import generate, rotate
from api.security.rotation import encrypted_tables
from api.settings import Settings
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.staff import COUNSELOR_GROUP, staff_settings
from tests.gateway.waiting import eventually

API_ROOT = Path(__file__).resolve().parents[3] / "api"
FERNET_PREFIX = "gAAAAA"
# Encryption whose result is bound to a name not ending in _encrypted, with where it ends up.
ENCRYPTING_EXCEPTIONS = {
    ("api/security/crypto.py", "<return>"),  # Crypto's own helpers
    ("api/content/broadcasts.py", "parts"),  # stored as "payload_encrypted" a few lines below
}


@pytest.fixture
def settings(settings: Settings) -> Settings:  # overrides the shared fixture
    return staff_settings(settings, telegram_alert_excerpt=True)


def _binding(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str | None:
    """The name an encrypted value is stored under: keyword, assignment target or dict key."""
    current = node
    while current in parents:
        parent = parents[current]
        if isinstance(parent, ast.keyword):
            return parent.arg
        if isinstance(parent, ast.Assign):
            return ast.unparse(parent.targets[0])
        if isinstance(parent, ast.Dict) and current in parent.values:
            key = parent.keys[parent.values.index(current)]
            return str(key.value) if isinstance(key, ast.Constant) else None
        if isinstance(parent, ast.Return):
            return "<return>"
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef):
            return None
        current = parent
    return None


def test_everything_the_code_encrypts_is_stored_under_an_encrypted_name() -> None:
    misnamed = []
    for path in sorted(API_ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        where = str(path.relative_to(API_ROOT.parent))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("encrypt", "encrypt_json"):
                name = _binding(node, parents)
                if not (name and name.endswith("_encrypted")) and (where, name) not in ENCRYPTING_EXCEPTIONS:
                    misnamed.append(f"{where}:{node.lineno} stores it as {name!r}")
    assert misnamed == [], "key rotation finds encrypted values by their *_encrypted name"


def _fill_the_rest(app: FastAPI) -> None:
    """Rows for the encrypted columns the disclosure flow does not write."""
    crypto = app.state.context.crypto
    with app.state.context.database.transaction() as session:
        case = session.scalars(select(Case)).first()
        assert case is not None
        user = session.scalars(select(User)).first()
        assert user is not None
        session.add(CaseNote(case_id=case.id, kind="note", text_encrypted=crypto.encrypt("ghi chú của tư vấn viên")))
        session.add(InboxItem(channel="telegram", sender_id=case.sender_id, text_encrypted=crypto.encrypt("xin chào"),
                              risk_level="none"))
        session.add(WebChatReply(conversation_id=case.conversation_id,
                                 payload_encrypted=crypto.encrypt_json({"text": "Chào bạn"})))
        session.add(ZaloOaToken(app_id="app", access_token_encrypted=crypto.encrypt("access"),
                                refresh_token_encrypted=crypto.encrypt("refresh"),
                                expires_at=datetime.now(UTC), seed_fingerprint="f"))
        session.add(UserTwoFactor(user_id=user.id, secret_encrypted=crypto.encrypt("JBSWY3DPEHPK3PXP"),
                                  pending_secret_encrypted=crypto.encrypt("KRSXG5CTMVRXEZLU")))
        session.add(CaseRecord(case_id=case.id, values_encrypted=crypto.encrypt('{"gender": "girl"}')))
        session.add(Referral(case_id=case.id, recipient="111", reason_encrypted=crypto.encrypt("cần can thiệp"),
                             shared_encrypted=crypto.encrypt("mức độ, chủ đề"), due_date=datetime.now(UTC).date()))


def _tokens(value: Any) -> Iterator[str]:
    """Every string in a value (JSON included) that is a Fernet token."""
    if isinstance(value, str) and value.startswith(FERNET_PREFIX):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tokens(item)
    elif isinstance(value, list):
        for item in value:
            yield from _tokens(item)


def _every_token(database: Database) -> list[tuple[str, str]]:
    """(table.column, token) for every Fernet token in any text or JSON column of any table."""
    found = []
    with database.session() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text) or c.name.endswith("_encrypted")
                       or c.type.__class__.__name__ == "JSON"]
            if not columns:
                continue
            for row in session.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    found += [(f"{table.name}.{column.name}", token) for token in _tokens(value)]
    return found


def _empty_encrypted_columns(database: Database) -> list[str]:
    empty = []
    with database.session() as session:
        for spec in encrypted_tables(Base.metadata):
            for column in spec.token_columns:
                if session.scalar(select(column).where(column.isnot(None)).limit(1)) is None:
                    empty.append(f"{spec.table.name}.{column.name}")
    return empty


@pytest.mark.asyncio
async def test_after_rotation_every_row_opens_with_the_new_key_alone(
        client: httpx.AsyncClient, app: FastAPI, fake_telegram: FakeTelegram, settings: Settings,
        database: Database) -> None:
    disclosure = text_update(5150, "cứu em với, chú hàng xóm đang sờ vào người em")
    assert (await post_update(client, disclosure)).status_code == 200
    await eventually(lambda: fake_telegram.sent(COUNSELOR_GROUP), what="group alert with its excerpt")
    await eventually(lambda: fake_telegram.sent(5150), what="the child's reply")
    _fill_the_rest(app)
    assert _empty_encrypted_columns(database) == [], "fill every encrypted column in _fill_the_rest"
    old_key = settings.data_encryption_key.get_secret_value()
    before = _every_token(database)
    assert {where for where, _ in before} >= {"notifications.payload", "conversations.platform_user_id_encrypted"}

    printed = generate(settings)
    new_setting = next(line for line in printed.splitlines() if line.startswith("DATA_ENCRYPTION_KEY="))
    new_key, kept_old = new_setting.split("=", 1)[1].split(",")
    assert kept_old == old_key
    rotated = settings.model_copy(update={"data_encryption_key": type(settings.data_encryption_key)(
        f"{new_key},{old_key}")})
    code, report = rotate(rotated, Base.metadata, batch_size=2)  # small batches: paging is exercised
    assert code == 0, report
    assert f"DATA_ENCRYPTION_KEY={new_key}\n" in report

    after = _every_token(database)
    assert len(after) == len(before)
    only_new, only_old = Fernet(new_key.encode()), Fernet(old_key.encode())
    for _where, token in after:
        only_new.decrypt(token.encode())  # raises InvalidToken if a value was missed
        with pytest.raises(InvalidToken):
            only_old.decrypt(token.encode())
    plain_before = sorted(Fernet(old_key.encode()).decrypt(t.encode()) for _, t in before)
    assert sorted(only_new.decrypt(t.encode()) for _, t in after) == plain_before
    # Run again: nothing is lost, everything still opens with the new key.
    assert rotate(rotated, Base.metadata, batch_size=500)[0] == 0
    assert all(only_new.decrypt(t.encode()) for _, t in _every_token(database))


def test_a_value_no_key_opens_is_reported_and_left_as_it_is(database: Database, settings: Settings) -> None:
    stranger = Fernet(Fernet.generate_key()).encrypt(b"x").decode()
    with database.transaction() as session:
        session.add(InboxItem(channel="web", sender_id="web:" + "c" * 32, text_encrypted=stranger, risk_level="none"))
    code, report = rotate(settings, Base.metadata, batch_size=10)
    assert code == 1 and "content_inbox_items.text_encrypted: 1" in report
    with database.session() as session:
        assert session.scalars(select(InboxItem.text_encrypted)).one() == stranger
