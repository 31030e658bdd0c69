"""The campaign inbox keeps disclosures away from campaign staff and hides contact details; its
exports land in INBOX_EXPORT_DIR, outside the source tree, where the retrain finds them."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from fastapi import FastAPI
from sqlalchemy import select

from api.content import inbox
from api.content.models import InboxItem
from api.content.retrain import RetrainRunner
from api.db.session import Database
from api.messaging.models import Conversation, InboundMessage
from api.messaging.risk import Risk
from api.security.crypto import Crypto
from api.security.scrub import scrub_contact_details
from api.settings import Settings
from tests.gateway.staff import staff_token

CHILD_DETAILS = ("Lan", "0912 345 678", "lan.nguyen@gmail.com", "12 Lê Lợi")
MESSAGE = "tên em là Lan, nhà em ở 12 Lê Lợi, sđt 0912 345 678, mail lan.nguyen@gmail.com, hỏi về 111"


def _add_items(app: FastAPI, rows: list[tuple[str, str]]) -> list[int]:
    """Inbox rows as an older gateway stored them: (risk level, text)."""
    crypto = app.state.context.crypto
    with app.state.context.database.transaction() as session:
        items = [InboxItem(channel="telegram", sender_id="telegram:" + "a" * 32, text_encrypted=crypto.encrypt(text),
                           risk_level=level, intent="nlu_fallback", confidence=0.3) for level, text in rows]
        session.add_all(items)
        session.flush()
        return [item.id for item in items]


@pytest.mark.parametrize(("text", "expected"), [
    ("tên em là Lan, nhà em ở 12 Lê Lợi, sđt 0912 345 678", "tên em là [tên], nhà em ở [địa chỉ], sđt [số điện thoại]"),
    ("ten minh la nguyen thi lan va minh 12 tuoi", "ten minh la [tên] va minh 12 tuoi"),
    ("em tên Minh Anh học lớp 5", "em tên [tên] học lớp 5"),
    ("em ten hoa nha em o so 5 ngo 3 cau giay. cuu em", "em ten [tên] nha em o [địa chỉ]. cuu em"),
    ("em ở số 7 hẻm 42/7 Nguyễn Trãi", "em ở [địa chỉ]"),
    ("địa chỉ: 45/2 đường Trần Phú, quận 5", "địa chỉ: [địa chỉ]"),
    ("dia chi nha em la thon Dong, xa An Phu", "dia chi nha em la [địa chỉ]"),
    ("mail be.lan@gmail.com hoặc +84 912.345.678", "mail [email] hoặc [số điện thoại]"),
    ("số nhà em là 15B phố Huế", "số nhà em là [địa chỉ]"),
    ("gọi 111 có mất tiền không ạ", "gọi 111 có mất tiền không ạ"),
    ("em 12 tuổi, học lớp 6", "em 12 tuổi, học lớp 6"),
])
def test_contact_details_are_replaced_with_and_without_diacritics(text: str, expected: str) -> None:
    assert scrub_contact_details(text) == expected


@pytest.mark.asyncio
async def test_concern_and_above_are_never_listed_and_details_are_scrubbed(
        client: httpx.AsyncClient, app: FastAPI) -> None:
    levels = ["concern", "high", "imminent", "none"]
    ids = _add_items(app, [(level, f"{MESSAGE} ({level})") for level in levels])
    headers = staff_token(app, "campaign@example.org")
    listed = (await client.get("/api/v1/inbox", headers=headers)).json()
    assert [item["id"] for item in listed] == [ids[-1]]
    text = listed[0]["text"]
    assert all(detail not in text for detail in CHILD_DETAILS), text
    assert "[tên]" in text and "[địa chỉ]" in text and "[số điện thoại]" in text and "[email]" in text
    assert "hỏi về 111" in text
    admin = staff_token(app, "admin-inbox@example.org", role="admin")
    assert [item["id"] for item in (await client.get("/api/v1/inbox", headers=admin)).json()] == [ids[-1]]
    # An old disclosure row cannot be reached by id either.
    hidden = await client.post(f"/api/v1/inbox/{ids[1]}/review", headers=headers, json={"action": "dismiss"})
    assert hidden.status_code == 404


def test_messages_read_at_concern_or_above_are_not_recorded(database: Database, settings: Settings) -> None:
    crypto = Crypto(settings)
    with database.transaction() as session:
        conversation = Conversation(channel="telegram", sender_id="telegram:" + "b" * 32,
                                    platform_user_id_encrypted=crypto.encrypt("42"))
        session.add(conversation)
        session.flush()
        inbound = InboundMessage(conversation_id=conversation.id, channel="telegram", platform_message_key="m1",
                                 kind="text", text_encrypted=crypto.encrypt("bố đánh em"))
        session.add(inbound)
        session.flush()
        for level in ("concern", "high", "imminent"):
            assert inbox.record(session, conversation, inbound, Risk(level=level, intent="nlu_fallback",
                                                                     fallback=True)) is None
        assert inbox.record(session, conversation, inbound, Risk(level="none", intent="greet", confidence=0.3))
    with database.session() as session:
        assert [item.risk_level for item in session.scalars(select(InboxItem))] == ["none"]


@pytest.mark.asyncio
async def test_export_lands_in_the_configured_folder_scrubbed(client: httpx.AsyncClient, app: FastAPI) -> None:
    settings: Settings = app.state.context.settings
    concern_id, none_id = _add_items(app, [("concern", "chú hàng xóm sờ em"), ("none", MESSAGE)])
    with app.state.context.database.transaction() as session:
        for item in session.scalars(select(InboxItem)):
            item.status, item.topic = "assigned", "ask_hotline_111"
    headers = staff_token(app, "campaign@example.org")
    written = await client.post("/api/v1/inbox/export", headers=headers)
    assert written.status_code == 200, written.text
    assert written.json()["examples"] == 1
    folder = Path(settings.inbox_export_dir)
    exported = folder / written.json()["path"]
    assert exported.is_file() and (folder / ".gitignore").read_text() == "*\n"
    assert list(Path(settings.nlu_data_dir).iterdir()) == []  # noqa: ASYNC240 (a test's tmp folder)
    content = exported.read_text(encoding="utf-8")
    data = yaml.safe_load(content)
    examples = data["nlu"][0]["examples"]
    assert "hỏi về 111" in examples and all(detail not in content for detail in CHILD_DETAILS)
    assert "sờ em" not in content
    with app.state.context.database.session() as session:
        assert session.get(InboxItem, concern_id).exported_at is None  # type: ignore[union-attr]
        assert session.get(InboxItem, none_id).exported_at is not None  # type: ignore[union-attr]


@pytest.fixture
def inside_the_tree(settings: Settings) -> Settings:
    repo_data = Path(settings.repo_root) / "data" / "nlu"
    return settings.model_copy(update={"inbox_export_dir": str(repo_data)})


def test_an_export_folder_inside_the_repository_data_is_refused(inside_the_tree: Settings) -> None:
    with pytest.raises(inbox.InboxError):
        inbox.export_dir(Path(inside_the_tree.repo_root), Path(inside_the_tree.inbox_export_dir),
                         Path(inside_the_tree.nlu_data_dir))
    with pytest.raises(inbox.InboxError):
        inbox.export_dir(Path(inside_the_tree.repo_root), Path(inside_the_tree.repo_root) / "data",
                         Path(inside_the_tree.nlu_data_dir))
    allowed = Path(inside_the_tree.repo_root) / "var" / "exports"
    assert inbox.export_dir(Path(inside_the_tree.repo_root), allowed, Path(inside_the_tree.nlu_data_dir)) == allowed


@pytest.mark.asyncio
async def test_the_retrain_command_is_told_where_the_exports_are(settings: Settings, database: Database) -> None:
    runner = RetrainRunner(database, settings)
    code, output = await runner._shell('printf %s "$INBOX_EXPORT_DIR"', 10)
    assert code == 0 and output == str(Path(settings.inbox_export_dir).resolve())  # noqa: ASYNC240
