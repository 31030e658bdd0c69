"""The inbox of unanswered questions and its export to reviewable NLU training data.

Campaign staff are not counsellors: a message read at concern or above never enters the inbox (and
rows stored before that rule are never listed), and every text they see or export has its contact
details replaced by placeholders (api/security/scrub.py). Exports go to INBOX_EXPORT_DIR, outside
the source tree (docs/privacy-access.md).
"""
from __future__ import annotations

import difflib
import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.content.models import InboxItem, InboxStatus
from api.content.topics import certainty_word, risk_level_label, topic_label
from api.db.base import utcnow
from api.messaging.models import Conversation, InboundMessage
from api.messaging.risk import RiskLevel
from api.security.crypto import Crypto
from api.security.scrub import scrub_contact_details

LOW_CONFIDENCE = 0.5
_TOPIC_RE = re.compile(r"^[a-z][a-z0-9_]{1,80}$")


class InboxError(ValueError):
    pass


def needs_review(risk: Any) -> bool:
    """Fallback, or an intent chosen with less than 0.5 confidence."""
    if risk is None:
        return False
    if getattr(risk, "fallback", False):
        return True
    confidence = getattr(risk, "confidence", None)
    return confidence is not None and confidence < LOW_CONFIDENCE


def shown_to_staff(risk_level: str | None) -> bool:
    """Only messages read below concern reach campaign staff; disclosures stay with counsellors."""
    return RiskLevel.of(risk_level).rank < RiskLevel.CONCERN.rank


# Rows stored before the rule above may still hold concern+ messages: every query filters them out.
VISIBLE = InboxItem.risk_level == RiskLevel.NONE


def record(session: Session, conversation: Conversation, inbound: InboundMessage, risk: Any) -> InboxItem | None:
    if not needs_review(risk) or not inbound.text_encrypted:
        return None
    if not shown_to_staff(getattr(risk, "level", None)) or getattr(risk, "escalate", False):
        return None
    # The ciphertext is copied as it is: the text is never decrypted to be stored here.
    item = InboxItem(channel=conversation.channel, sender_id=conversation.sender_id,
                     text_encrypted=inbound.text_encrypted, risk_level=RiskLevel.of(getattr(risk, "level", None)),
                     intent=getattr(risk, "intent", None), confidence=getattr(risk, "confidence", None))
    session.add(item)
    return item


def item_out(item: InboxItem, crypto: Crypto) -> dict[str, Any]:
    """One question as staff read it: the model's guess and the chosen topic by their names and the
    certainty in a word, never the internal topic codes or the raw score; contact details scrubbed."""
    guessed = item.intent and item.intent != "nlu_fallback"
    return {"id": item.id, "text": staff_text(item, crypto), "channel": item.channel,
            "risk_level": item.risk_level, "risk_label": risk_level_label(item.risk_level),
            "guess": topic_label(item.intent) if guessed else None,
            "certainty": certainty_word(item.confidence) if guessed else None,
            "status": item.status, "topic_label": topic_label(item.topic) if item.topic else None,
            "proposed_answer": item.proposed_answer,
            "reviewed_by": item.reviewed_by, "exported": item.exported_at is not None,
            "created_at": item.created_at.isoformat()}


def staff_text(item: InboxItem, crypto: Crypto) -> str:
    """The message as staff may see and export it: contact details replaced by placeholders."""
    return scrub_contact_details(crypto.decrypt(item.text_encrypted))


def known_topics(domain_path: Path) -> list[str]:
    if not domain_path.is_file():
        return []
    with domain_path.open(encoding="utf-8") as handle:
        domain = yaml.safe_load(handle) or {}
    intents = []
    for intent in domain.get("intents") or []:
        intents.append(next(iter(intent)) if isinstance(intent, dict) else str(intent))
    return sorted(intents)


def review(item: InboxItem, action: str, reviewer: str, *, topic: str | None = None,
           answer: str | None = None, topics: list[str] | None = None) -> InboxItem:
    if item.status != InboxStatus.NEW and item.exported_at is not None:
        raise InboxError("Câu này đã được xuất ra dữ liệu huấn luyện. / Already exported.")
    if action == "assign":
        if not topic or (topics is not None and topic not in topics):
            raise InboxError("Hãy chọn một chủ đề có sẵn. / Choose an existing topic.")
        item.status, item.topic, item.proposed_answer = InboxStatus.ASSIGNED, topic, None
    elif action == "propose":
        if not topic or not _TOPIC_RE.match(topic):
            raise InboxError("Tên chủ đề mới chỉ gồm chữ thường không dấu, số và dấu _ (ví dụ faq_hoc_online). "
                             "/ A new topic name uses lowercase letters, digits and _.")
        if topics is not None and topic in topics:
            raise InboxError("Chủ đề này đã có: hãy dùng \"gán chủ đề\". / That topic exists: assign it instead.")
        if not answer or not answer.strip():
            raise InboxError("Chủ đề mới cần có câu trả lời. / A new topic needs an answer.")
        item.status, item.topic, item.proposed_answer = InboxStatus.PROPOSED, topic, answer.strip()
    elif action == "dismiss":
        item.status, item.topic, item.proposed_answer = InboxStatus.DISMISSED, None, None
    else:
        raise InboxError("Thao tác không hợp lệ. / Unknown action.")
    item.reviewed_by = reviewer
    item.reviewed_at = utcnow()
    return item


def accepted_unexported(session: Session) -> list[InboxItem]:
    return list(session.scalars(select(InboxItem).where(InboxItem.status.in_(("assigned", "proposed")),
                                                        InboxItem.exported_at.is_(None), VISIBLE)
                                .order_by(InboxItem.topic, InboxItem.id)))


def _example_line(text: str) -> str:
    return "    - " + " ".join(text.split())


def render_export(items: list[InboxItem], crypto: Crypto, existing: str = "") -> str:
    """Rasa 3 NLU YAML with the accepted examples, merged into an existing file of the same day."""
    by_topic: dict[str, list[str]] = {}
    answers: dict[str, str] = {}
    if existing.strip():
        loaded = yaml.safe_load(existing) or {}
        for block in loaded.get("nlu") or []:
            examples = [line[2:].strip() for line in str(block.get("examples") or "").splitlines()
                        if line.strip().startswith("- ")]
            by_topic.setdefault(block["intent"], []).extend(examples)
        for line in existing.splitlines():
            match = re.match(r"^# new topic (\S+): (.*)$", line)
            if match:
                answers[match.group(1)] = match.group(2)
    for item in items:
        text = " ".join(staff_text(item, crypto).split())
        examples = by_topic.setdefault(item.topic or "", [])
        if text not in examples:
            examples.append(text)
        if item.status == InboxStatus.PROPOSED and item.proposed_answer:
            answers[item.topic or ""] = " ".join(item.proposed_answer.split())
    lines = ["# Examples accepted from the inbox of unanswered questions. Review before training.",
             "# New topics need an intent in domain.yml and a response utter_<topic> with the answer below."]
    lines += [f"# new topic {topic}: {answer}" for topic, answer in sorted(answers.items())]
    lines += ['version: "3.1"', "nlu:"]
    for topic in sorted(by_topic):
        lines.append(f"- intent: {topic}")
        lines.append("  examples: |")
        lines += [_example_line(example) for example in by_topic[topic]]
    return "\n".join(lines) + "\n"


def export_path(export_dir: Path, day: date) -> Path:
    return export_dir / f"inbox_{day.isoformat()}.yml"


def export_dir(repo_root: Path, configured: Path, nlu_dir: Path) -> Path:
    """The export folder, refused inside the repository's data/ or the NLU folder (exports hold
    children's words: they never go into git, and the model trains on them only through the retrain,
    which reads this folder)."""
    folder = configured.resolve()
    for forbidden in (repo_root.resolve() / "data", nlu_dir.resolve()):
        if folder == forbidden or forbidden in folder.parents:
            raise InboxError("INBOX_EXPORT_DIR không được nằm trong thư mục dữ liệu của mã nguồn. / "
                             "INBOX_EXPORT_DIR must be outside the repository's data folder.")
    return folder


def prepare_export_dir(folder: Path) -> None:
    """Create the folder, private to the gateway's user, with a .gitignore that keeps it out of git
    even when it is configured inside a checkout."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")


def export_diff(path: Path, new_text: str, repo_root: Path) -> str:
    old_text = path.read_text(encoding="utf-8") if path.is_file() else ""
    try:
        shown = str(path.relative_to(repo_root))
    except ValueError:
        shown = str(path)
    return "".join(difflib.unified_diff(old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                                        f"a/{shown}", f"b/{shown}"))
