"""The per-message pipeline: one claimed inbound message → Rasa → hooks → outbox.

Other concerns plug in through ConversationHooks (cases and escalation, content):
  app_context(app).pipeline_hooks.register(MyHooks())
Hooks run inside the transaction that marks the message done, with its session; they must use that
session for their writes and must not call the database any other way. A hook that raises is
logged and rolled back to a savepoint: it never loses the user's message or the bot's reply.

Rule: while a counselor holds the conversation (state "counselor") the child's message still goes to
Rasa (logged; Rasa is paused), the risk is read with /model/parse, and no bot reply is queued.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from api.db.after_commit import savepoint
from api.db.base import utcnow
from api.db.gate import WriteGate
from api.logs import bind_request_id
from api.messaging.models import Conversation, ConversationState, InboundMessage, InboundStatus, Lane
from api.messaging.outbox import enqueue, reply_lane
from api.messaging.rasa_client import RasaClient, RasaUnavailable
from api.messaging.rasa_recovery import RasaRecovery
from api.messaging.risk import Risk
from api.messaging.texts import NON_TEXT, SERVICE_UNAVAILABLE, WELCOME, UserText, UserTexts
from api.metrics import GatewayMetrics
from api.security.crypto import Crypto

log = logging.getLogger(__name__)

TEXT_KINDS = ("text", "button")
NON_TEXT_KINDS = ("sticker", "photo", "voice", "document", "other")


class ConversationHooks:
    """Extension points; subclass and override what you need (all are no-ops here)."""

    async def before_rasa(
        self, session: Session, conversation: Conversation, inbound: InboundMessage, text: str
    ) -> list[dict[str, Any]] | None:
        """A text message the hook answers itself (subscription words, quiz answers): return the
        replies and Rasa is not asked; None lets Rasa answer."""
        return None

    async def after_user_message(
        self, session: Session, conversation: Conversation, inbound: InboundMessage, risk: Risk | None
    ) -> None:
        """Every stored user message once it is understood (risk None for non-text kinds).
        May change conversation.state (e.g. to "waiting" on escalation)."""

    def shown_replies(
        self, session: Session, conversation: Conversation, inbound: InboundMessage, replies: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The replies to queue, once after_user_message has run: a hook may leave out one that the
        turn made untrue (the counselor offer once the counselors are told)."""
        return replies

    async def after_bot_turn(
        self,
        session: Session,
        conversation: Conversation,
        inbound: InboundMessage,
        replies: list[dict[str, Any]],
        risk: Risk | None,
    ) -> None:
        """After the replies (possibly none, e.g. counselor holds) were queued for this message."""

    async def rasa_unavailable(
        self, session: Session, conversation: Conversation, inbound: InboundMessage, text: str
    ) -> None:
        """Rasa could not be reached for this text message: the child got the hotline fallback and
        the message waits for a retry. What the gateway can read in-process is done now (the case
        log's risk rules), not when Rasa is back."""


class HookRegistry:
    """Registered hooks, run in registration order (the app context's `pipeline_hooks`)."""

    def __init__(self) -> None:
        self._hooks: list[ConversationHooks] = []

    def register(self, hooks: ConversationHooks) -> None:
        self._hooks.append(hooks)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._hooks))


def split_rasa_replies(replies: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(risk custom payload or None, the replies a user may see). Custom payloads are never shown."""
    risk: dict[str, Any] | None = None
    visible: list[dict[str, Any]] = []
    for reply in replies:
        custom = reply.get("custom")
        if custom is not None:
            if isinstance(custom, dict) and custom.get("type") == "risk" and risk is None:
                risk = custom
            continue
        payload = {k: v for k, v in reply.items() if k in ("text", "buttons", "image", "attachment") and v}
        if payload:
            visible.append(payload)
    return risk, visible


@dataclass
class _Snapshot:
    inbound_id: int
    conversation_id: int
    sender_id: str
    channel: str
    kind: str
    text: str | None
    metadata: dict[str, Any]
    state: str
    attempts: int
    platform_user_id_encrypted: str = ""
    request_id: str | None = None


class Pipeline:
    """Processes one claimed inbound message (status "processing") to completion or to a retry."""

    def __init__(
        self,
        gate: WriteGate,
        rasa: RasaClient,
        hooks: HookRegistry,
        crypto: Crypto,
        *,
        texts: UserTexts | None = None,
        retry_base_seconds: float = 1.0,
        retry_max_seconds: float = 30.0,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self.gate = gate
        self.rasa = rasa
        self.hooks = hooks
        self.crypto = crypto
        self.texts = texts or UserTexts()
        self.retry_base_seconds = retry_base_seconds
        self.retry_max_seconds = retry_max_seconds
        self.metrics = metrics or GatewayMetrics()
        # Set by the case features: answers the child directly when the database fails after Rasa
        # replied (the turn itself is retried once storage is back). Must never raise.
        self.storage_down_reply: Callable[[str, str, list[dict[str, Any]], Risk | None], Awaitable[None]] | None = None
        # Retries the messages deferred for Rasa as soon as it answers again (set by the app).
        self.rasa_recovery: RasaRecovery | None = None

    def _snapshot(self, inbound_id: int) -> _Snapshot | None:
        with self.gate.database.session() as session:
            inbound = session.get(InboundMessage, inbound_id)
            if inbound is None or inbound.status != InboundStatus.PROCESSING:
                return None
            conversation = session.get(Conversation, inbound.conversation_id)
            assert conversation is not None
            return _Snapshot(
                inbound_id=inbound.id,
                conversation_id=conversation.id,
                sender_id=conversation.sender_id,
                channel=conversation.channel,
                kind=inbound.kind,
                text=self.crypto.decrypt(inbound.text_encrypted) if inbound.text_encrypted else None,
                metadata=dict(inbound.message_metadata or {}),
                state=conversation.state,
                attempts=inbound.attempts,
                platform_user_id_encrypted=conversation.platform_user_id_encrypted,
                request_id=inbound.request_id,
            )

    async def process(self, inbound_id: int) -> None:
        snap = self._snapshot(inbound_id)
        if snap is None:
            return
        # The rest of this task (Rasa call, outbox rows, the worker's logs) carries the webhook's id.
        bind_request_id(snap.request_id)
        log.info("inbound processing", extra={"inbound_id": inbound_id, "channel": snap.channel,
                                              "kind": snap.kind, "attempt": snap.attempts})
        if snap.kind in TEXT_KINDS and snap.text:
            if await self._answered_before_rasa(snap):
                return
            metadata = {"channel": snap.channel, "message_id": str(snap.metadata.get("message_id", ""))}
            try:
                replies = await self.rasa.send_message(snap.sender_id, snap.text, metadata)
            except RasaUnavailable as exc:
                log.warning("rasa unavailable for inbound %s: %s", inbound_id, exc)
                self.metrics.inbound_failures.labels("rasa_unavailable").inc()
                await self._defer(snap, str(exc))
                if self.rasa_recovery is not None:
                    self.rasa_recovery.deferred(inbound_id, rasa_seen_down=exc.unreachable)
                return
            risk_payload, visible = split_rasa_replies(replies)
            risk = Risk.from_custom(risk_payload) if risk_payload else await self._parse_risk(snap)
            answer: list[dict[str, Any]] | UserText = visible
            if not visible and snap.state == ConversationState.BOT:
                # Rasa answered with nothing to say (an action or the NLG timed out under load): the
                # child still gets an answer with 111. A paused conversation (counselor) stays silent.
                log.warning("rasa sent no reply for inbound %s: the hotline fallback is sent", inbound_id)
                self.metrics.inbound_failures.labels("empty_reply").inc()
                answer = SERVICE_UNAVAILABLE
            try:
                await self._finish(snap, answer, risk, source="bot")
            except (OperationalError, InterfaceError):  # storage unreachable, not a bug
                if self.storage_down_reply is not None and snap.state != ConversationState.COUNSELOR:
                    await self.storage_down_reply(
                        snap.channel, self.crypto.decrypt(snap.platform_user_id_encrypted), visible, risk)
                raise
        elif snap.kind == "follow":
            await self._finish(snap, WELCOME, None, source="system")
        elif snap.kind == "unfollow":
            await self._finish(snap, [], None, source="system")
        else:
            await self._finish(snap, NON_TEXT, None, source="system")

    async def _parse_risk(self, snap: _Snapshot) -> Risk | None:
        try:
            parsed = await self.rasa.parse(snap.text or "", str(snap.metadata.get("message_id", "")) or None)
        except RasaUnavailable as exc:
            log.warning("risk parse failed for inbound %s: %s", snap.inbound_id, exc)
            return None
        return Risk.from_parse(parsed)

    async def _run_hook(self, session: Session, name: str, *args: Any) -> None:
        for hooks in self.hooks:
            try:
                # A hook rolled back also takes back the events it queued for the commit.
                with savepoint(session):
                    await getattr(hooks, name)(session, *args)
            except Exception:  # a broken hook must not lose the message or the reply
                if getattr(hooks, "critical", False):
                    raise  # e.g. the case log: retry the whole turn rather than lose a disclosure
                log.exception("pipeline hook %s.%s failed", type(hooks).__name__, name)

    async def _answered_before_rasa(self, snap: _Snapshot) -> bool:
        """Let hooks answer without Rasa; their replies are queued in the same transaction."""
        async with self.gate.transaction() as session:
            inbound = session.get(InboundMessage, snap.inbound_id)
            conversation = session.get(Conversation, snap.conversation_id)
            if (inbound is None or conversation is None or inbound.status != InboundStatus.PROCESSING
                    or inbound.attempts != snap.attempts):  # claimed again since (by another process)
                return True  # our claim expired and someone else owns the message now
            for hooks in self.hooks:
                try:
                    with savepoint(session):
                        replies = await hooks.before_rasa(session, conversation, inbound, snap.text or "")
                except Exception:  # a broken hook must not stop the message reaching Rasa
                    log.exception("pipeline hook %s.before_rasa failed", type(hooks).__name__)
                    continue
                if replies is not None:
                    await self._complete(session, conversation, inbound, replies, None, source="bot")
                    return True
        return False

    async def _finish(
        self, snap: _Snapshot, replies: list[dict[str, Any]] | UserText, risk: Risk | None, *, source: str
    ) -> None:
        """Complete the turn with Rasa's replies, or with one of the gateway's own texts (rendered from
        the live content in this transaction)."""
        async with self.gate.transaction() as session:
            inbound = session.get(InboundMessage, snap.inbound_id)
            conversation = session.get(Conversation, snap.conversation_id)
            if (inbound is None or conversation is None or inbound.status != InboundStatus.PROCESSING
                    or inbound.attempts != snap.attempts):  # claimed again since (by another process)
                return  # our claim expired and someone else owns the message now
            if isinstance(replies, UserText):
                replies = [self.texts.render(session, replies, conversation.channel)]
            await self._complete(session, conversation, inbound, replies, risk, source=source)

    async def _complete(
        self,
        session: Session,
        conversation: Conversation,
        inbound: InboundMessage,
        replies: list[dict[str, Any]],
        risk: Risk | None,
        *,
        source: str,
    ) -> None:
        await self._run_hook(session, "after_user_message", conversation, inbound, risk)
        for hooks in self.hooks:
            replies = hooks.shown_replies(session, conversation, inbound, replies)
        # Re-read after the hooks: the state decides whether the bot may speak.
        queued: list[dict[str, Any]] = []
        if conversation.state != ConversationState.COUNSELOR and replies:
            enqueue(session, conversation, replies, source, idempotency_prefix=f"inbound:{inbound.id}",
                    crypto=self.crypto, lane=reply_lane(conversation, risk))
            queued = replies
        await self._run_hook(session, "after_bot_turn", conversation, inbound, queued, risk)
        inbound.status = InboundStatus.DONE
        inbound.processed_at = utcnow()
        inbound.lease_expires_at = None
        inbound.claimed_by = None
        inbound.last_error = None

    def retry_delay(self, attempts: int) -> float:
        """Exponential backoff with full jitter on the upper half, capped."""
        delay = min(self.retry_max_seconds, self.retry_base_seconds * (2 ** max(0, attempts - 1)))
        return delay / 2 + random.uniform(0, delay / 2)

    async def _defer(self, snap: _Snapshot, error: str) -> None:
        async with self.gate.transaction() as session:
            inbound = session.get(InboundMessage, snap.inbound_id)
            conversation = session.get(Conversation, snap.conversation_id)
            if (inbound is None or conversation is None or inbound.status != InboundStatus.PROCESSING
                    or inbound.attempts != snap.attempts):  # claimed again since (by another process)
                return
            if not inbound.fallback_sent and conversation.state != ConversationState.COUNSELOR:
                enqueue(
                    session,
                    conversation,
                    [self.texts.render(session, SERVICE_UNAVAILABLE, conversation.channel)],
                    "system",
                    idempotency_prefix=f"fallback:{inbound.id}",
                    crypto=self.crypto,
                    lane=Lane.SAFETY,  # the hotline while Rasa is away: it may be the only answer
                )
                inbound.fallback_sent = True
            if snap.text:
                await self._run_rasa_unavailable_hooks(session, conversation, inbound, snap.text)
            inbound.status = InboundStatus.PENDING
            inbound.lease_expires_at = None
            inbound.claimed_by = None
            inbound.last_error = error[:500]
            inbound.next_attempt_at = utcnow() + timedelta(seconds=self.retry_delay(inbound.attempts))

    async def _run_rasa_unavailable_hooks(
        self, session: Session, conversation: Conversation, inbound: InboundMessage, text: str
    ) -> None:
        for hooks in self.hooks:
            try:
                with savepoint(session):
                    await hooks.rasa_unavailable(session, conversation, inbound, text)
            except Exception:  # the message still waits for Rasa, which reads it in full
                log.exception("pipeline hook %s.rasa_unavailable failed", type(hooks).__name__)
