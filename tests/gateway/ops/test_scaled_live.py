"""The scaled topology of `make run-scaled` (scripts/run_scaled.py) with the real model: two Rasa
replicas on one SQL tracker store and the Redis lock store, two gateways on one PostgreSQL database,
the fake Telegram, bursts from 20 chats through the front port.

Runs in `make test-gateway` (RASA_TEST_URL set: the model and Rasa environment are there); it starts
its own processes (about a minute and 2.5 GB for the two replicas) and its own databases."""
from __future__ import annotations

import os
import signal
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine, create_engine

from scripts.run_scaled import Topology, drop_databases, scaled_topology
from scripts.services import LOG_DIR, MODEL
from scripts.supervisor import Supervisor
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.scaled import Sent, answers, burst, cases_of, gateway_env, settled, unsettled
from tests.gateway.waiting import eventually

pytestmark = [
    pytest.mark.skipif(not os.environ.get("RASA_TEST_URL", "").strip() or not MODEL.exists(),
                       reason="needs the trained model and the Rasa environment of make test-gateway"),
    pytest.mark.asyncio,
]

MESSAGES = ["xin chào", "bạn là ai vậy", "mình muốn hỏi về an toàn cơ thể", "số 111 là gì",
            "làm sao để nhờ người lớn giúp", "cảm ơn bạn nhiều"]
DISCLOSURE = "bố em say rượu đang đánh em chảy máu"
CHATS = 20


@dataclass
class Scaled:
    topology: Topology
    supervisor: Supervisor
    telegram: FakeTelegram
    engine: Engine


@pytest.fixture(scope="module")
def scaled() -> Iterator[Scaled]:
    telegram = FakeTelegram().start()
    topology = Topology(database=f"scaled_test_{uuid.uuid4().hex[:10]}", redis_db=4,
                        gateway_env=gateway_env(telegram.url))
    try:
        with scaled_topology(topology, timeout=300) as supervisor:
            engine = create_engine(topology.gateway_database_url)
            yield Scaled(topology, supervisor, telegram, engine)
            engine.dispose()
    finally:
        telegram.stop()
        drop_databases(topology)


def _explain(scaled: Scaled, sent: list[Sent]) -> str:
    """The unsettled messages and the last warnings of each process (their logs carry no text)."""
    tails = []
    for name in ("gateway-1", "gateway-2", "rasa-1", "rasa-2", "actions"):
        log = LOG_DIR / f"{name}.log"
        if log.exists():
            lines = log.read_text(errors="replace").splitlines()
            warnings = [line for line in lines[-400:] if "WARNING" in line or "ERROR" in line or "Error" in line]
            tails.append(f"{name}: " + " | ".join(line[:200] for line in warnings[-5:]))
    return unsettled(scaled.engine, sent) + "\n" + "\n".join(tails)


def _chats(first: int, per_chat: int) -> dict[int, list[str]]:
    return {first + n: [MESSAGES[(n + i) % len(MESSAGES)] for i in range(per_chat)] for n in range(CHATS)}


def _check_every_message_answered_once_in_order(scaled: Scaled, sent: list[Sent]) -> None:
    found = answers(scaled.engine, sent)
    assert len(found) == len(sent), "a message acknowledged by a gateway was not stored"
    delivered = Counter(str(call["chat_id"]) for call in scaled.telegram.sent())
    by_chat: dict[int, list[Sent]] = {}
    for message in sent:
        by_chat.setdefault(message.chat_id, []).append(message)
    for chat_id, messages in by_chat.items():
        messages.sort(key=lambda m: m.index)
        rows = [found[m.request_id] for m in messages]
        assert all(row.status == "done" and row.replies for row in rows), f"chat {chat_id}: a message unanswered"
        # Order: the answers of a later message come after those of an earlier one, in the outbox
        # and in time of delivery.
        outbound_ids = [oid for row in rows for oid, _, _ in row.replies]
        sent_times = [at for row in rows for _, _, at in row.replies]
        assert outbound_ids == sorted(outbound_ids), f"chat {chat_id}: answers out of order"
        assert sent_times == sorted(sent_times), f"chat {chat_id}: answers delivered out of order"
        # Once: Telegram got exactly the rows the outbox holds for this chat, no more.
        assert delivered[str(chat_id)] == sum(len(row.replies) + row.fallbacks for row in rows), \
            f"chat {chat_id}: a reply delivered twice or not at all"


async def test_every_rasa_replica_runs_the_model_the_gateways_serve(scaled: Scaled):
    topology = scaled.topology
    async with httpx.AsyncClient(timeout=30) as http:
        served = await http.head(f"{topology.front_url}/api/v1/model", params={"token": topology.token})
        assert served.status_code == 200 and served.headers["etag"]
        assert (await http.head(f"{topology.front_url}/api/v1/model")).status_code == 403  # Rasa's token only
        for replica in range(2):
            status = (await http.get(f"{topology.rasa_url(replica)}/status",
                                     params={"token": topology.token})).json()
            # Pulled from the model server (saved as model.tar.gz), not read from models/current.tar.gz.
            assert status["model_file"] == "model.tar.gz", status
        unchanged = await http.get(f"{topology.front_url}/api/v1/model", params={"token": topology.token},
                                   headers={"If-None-Match": served.headers["etag"]})
        assert unchanged.status_code == 304  # a replica's next pull downloads nothing


async def test_a_burst_through_the_front_port_is_answered_once_in_order(scaled: Scaled):
    chats = _chats(7_100_000, per_chat=3)
    disclosing_chat = max(chats)
    chats[disclosing_chat].append(DISCLOSURE)
    sent = await burst(scaled.topology.front_url, chats)
    await eventually(lambda: settled(scaled.engine, sent), timeout=180, what="every message answered",
                     explain=lambda: _explain(scaled, sent))
    _check_every_message_answered_once_in_order(scaled, sent)
    disclosure = next(s for s in sent if s.chat_id == disclosing_chat and s.index == 3)
    conversation_id = answers(scaled.engine, [disclosure])[disclosure.request_id].conversation_id
    await eventually(lambda: cases_of(scaled.engine, conversation_id) >= 1, timeout=30, what="the case")
    assert cases_of(scaled.engine, conversation_id) == 1


async def test_a_conversation_moved_between_rasa_replicas_keeps_its_slots(scaled: Scaled):
    topology = scaled.topology
    sender = f"telegram:scaled-move-{uuid.uuid4().hex}"
    params = {"token": topology.token}
    async with httpx.AsyncClient(timeout=60) as http:
        first = await http.post(f"{topology.rasa_url(0)}/webhooks/rest/webhook", params=params,
                                json={"sender": sender, "message": DISCLOSURE})
        first.raise_for_status()
        on_second = (await http.get(f"{topology.rasa_url(1)}/conversations/{sender}/tracker", params=params)).json()
        assert on_second["slots"]["risk_level"] in ("high", "imminent"), on_second["slots"]
        assert on_second["latest_message"]["text"] == DISCLOSURE  # stored sealed, opened for Rasa
        follow_up = await http.post(f"{topology.rasa_url(1)}/webhooks/rest/webhook", params=params,
                                    json={"sender": sender, "message": "cảm ơn bạn nhiều"})
        follow_up.raise_for_status()
        on_first = (await http.get(f"{topology.rasa_url(0)}/conversations/{sender}/tracker", params=params)).json()
    user_turns = [e["text"] for e in on_first["events"] if e["event"] == "user"]
    assert user_turns == [DISCLOSURE, "cảm ơn bạn nhiều"]
    # The risk read on the first replica is still the conversation's on the second (the slot only goes
    # up within a session; a replica with its own memory would have started from nothing).
    assert on_first["slots"]["risk_level"] == on_second["slots"]["risk_level"]


async def test_a_rasa_replica_killed_mid_burst_loses_nothing(scaled: Scaled):
    killed: list[int] = []
    rasa = scaled.supervisor.process("rasa 1")
    assert rasa is not None

    def kill_after_a_third(message: Sent) -> None:
        if not killed and message.index == 1:
            killed.append(rasa.pid)
            rasa.send_signal(signal.SIGKILL)

    sent = await burst(scaled.topology.front_url, _chats(7_200_000, per_chat=3), on_ack=kill_after_a_third)
    assert killed, "the replica was not killed during the burst"
    await eventually(lambda: settled(scaled.engine, sent), timeout=180, what="every message answered",
                     explain=lambda: _explain(scaled, sent))
    _check_every_message_answered_once_in_order(scaled, sent)
