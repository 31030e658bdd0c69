"""Campaign figures: counts only, never message text or any id."""
from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.cases.feedback import ANSWER_LABELS, answer_counts
from api.cases.models import Case, CaseMessage
from api.content.broadcasts import progress
from api.content.models import Broadcast, MessageStat
from api.messaging.models import InboundMessage
from api.security import suppression


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def figures(session: Session, *, days: int, zone: str, today: date | None = None) -> dict[str, Any]:
    tz = ZoneInfo(zone)
    today = today or datetime.now(tz).date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tz).astimezone(UTC)

    # Conversations per day and channel: distinct conversations that wrote that (local) day.
    seen: set[tuple[str, str, int]] = set()
    for received_at, channel, conversation_id in session.execute(
        select(InboundMessage.received_at, InboundMessage.channel, InboundMessage.conversation_id)
        .where(InboundMessage.received_at >= since)
    ):
        seen.add((_aware(received_at).astimezone(tz).date().isoformat(), channel, conversation_id))
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    for day, channel, _ in seen:
        per_day[day][channel] += 1
    conversations = [{"day": (first_day + timedelta(days=i)).isoformat(),
                      **dict(per_day[(first_day + timedelta(days=i)).isoformat()])} for i in range(days)]

    stats = session.scalars(select(MessageStat).where(MessageStat.day >= first_day.isoformat())).all()
    topics: Counter[str] = Counter()
    total = fallbacks = 0
    for stat in stats:
        total += stat.messages
        fallbacks += stat.fallbacks
        if stat.topic:
            topics[stat.topic] += stat.messages

    disclosures: Counter[tuple[str, str]] = Counter()
    first_reply_minutes: list[float] = []
    cases = session.execute(select(Case.id, Case.level, Case.category, Case.opened_at)
                            .where(Case.opened_at >= since)).all()
    first_counselor_message = dict(session.execute(
        select(CaseMessage.case_id, func.min(CaseMessage.created_at))
        .where(CaseMessage.author == "counselor", CaseMessage.case_id.in_([c[0] for c in cases] or [-1]))
        .group_by(CaseMessage.case_id)).all())
    for case_id, level, category, opened_at in cases:
        disclosures[(level, category or "")] += 1
        replied = first_counselor_message.get(case_id)
        if replied is not None:
            first_reply_minutes.append((_aware(replied) - _aware(opened_at)).total_seconds() / 60)

    broadcasts = []
    for broadcast in session.scalars(select(Broadcast).where(Broadcast.created_at >= since)
                                     .order_by(Broadcast.created_at)):
        counts = progress(session, broadcast)
        counts.pop("skipped_by_reason", None)
        broadcasts.append({"title": broadcast.title, "status": broadcast.status, **counts})

    return {
        "from": first_day.isoformat(),
        "to": today.isoformat(),
        "conversations_per_day": conversations,
        "top_topics": [{"topic": t, "messages": n} for t, n in topics.most_common(10)],
        "messages": total,
        "fallback_rate": round(fallbacks / total, 4) if total else 0.0,
        "disclosures": [{"level": level, "category": category, "cases": n}
                        for (level, category), n in sorted(disclosures.items())],
        "first_reply_minutes": {
            "cases_answered": len(first_reply_minutes),
            "median": round(statistics.median(first_reply_minutes), 1) if first_reply_minutes else None,
            "p90": round(sorted(first_reply_minutes)[int(0.9 * (len(first_reply_minutes) - 1))], 1)
            if first_reply_minutes else None,
        },
        "broadcasts": broadcasts,
        "feedback": feedback_answers(session, since, datetime.combine(today + timedelta(days=1), datetime.min.time(),
                                                                      tz).astimezone(UTC)),
    }


def feedback_answers(session: Session, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The after-chat answers to the questions asked in the period, by answer; 1 to 4 shown as "<5"."""
    _, answers = answer_counts(session, since, until)
    return [{"answer": code, "label": ANSWER_LABELS[code], "count": suppression.count(n)}
            for code, n in answers.items()]


def to_csv(data: dict[str, Any]) -> str:
    """One table: section, key, sub-key, value (easy to open in a spreadsheet)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "key", "detail", "value"])
    for row in data["conversations_per_day"]:
        for channel, n in row.items():
            if channel != "day":
                writer.writerow(["conversations", row["day"], channel, n])
    for row in data["top_topics"]:
        writer.writerow(["topic", row["topic"], "", row["messages"]])
    writer.writerow(["fallback_rate", "", "", data["fallback_rate"]])
    for row in data["disclosures"]:
        writer.writerow(["disclosures", row["level"], row["category"], row["cases"]])
    for key in ("cases_answered", "median", "p90"):
        writer.writerow(["first_reply_minutes", key, "", data["first_reply_minutes"][key]])
    for row in data["feedback"]:
        writer.writerow(["feedback", row["answer"], row["label"], row["count"]])
    for row in data["broadcasts"]:
        for key in ("total", "sent", "queued", "failed", "skipped"):
            writer.writerow(["broadcast", row["title"], key, row[key]])
    return buffer.getvalue()
