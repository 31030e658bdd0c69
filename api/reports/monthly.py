"""The figures of one month (local calendar month in TIMEZONE), raw; `publish` suppresses them.

Only counts and durations leave this module: no case ids, no text, no pseudonymous ids. Commune/ward
and age group come from the case records of the month's cases, decrypted by the app's reader
(`context.case_records`, api/casework/attributes.py) and counted at once; referrals are those
created in the month, by recipient and by their status now.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.cases.attributes import UNKNOWN, CaseRecords
from api.cases.feedback import answer_counts
from api.cases.models import Case, CaseMessage
from api.casework.attributes import AGE_GROUP_KEY
from api.casework.models import REFERRAL_STATUSES, RecordField, Referral
from api.casework.referrals import RECIPIENTS
from api.content.models import Broadcast, BroadcastDelivery, QuizSession, Subscriber
from api.messaging.models import Conversation, InboundMessage
from api.security import suppression

DISCLOSURE_LEVELS = ("concern", "high", "imminent")
REFERRAL_RECIPIENTS = (*RECIPIENTS, "directory")
UNKNOWN_LABEL = "Chưa rõ (chưa ghi trong hồ sơ ca)"
REFERRAL_STATUS_LABELS = {"sent": "Đã gửi", "acknowledged": "Đã xác nhận", "in_progress": "Đang xử lý",
                          "done": "Đã xong", "declined": "Bị từ chối"}


@dataclass
class MonthlyFigures:
    month: str
    conversations: int = 0
    new_conversations: int = 0
    disclosures_by_level: dict[str, int] = field(default_factory=dict)
    disclosures_by_category: dict[str, int] = field(default_factory=dict)
    by_commune: dict[str, int] = field(default_factory=dict)
    by_age_group: dict[str, int] = field(default_factory=dict)
    reply_seconds: list[float] = field(default_factory=list)
    feedback: dict[str, int] = field(default_factory=dict)
    feedback_asked: int = 0
    reach: dict[str, int] = field(default_factory=dict)
    referrals_by_recipient: dict[str, int] = field(default_factory=dict)
    referrals_by_status: dict[str, int] = field(default_factory=dict)
    age_group_labels: dict[str, str] = field(default_factory=dict)


def month_bounds(month: str, tz_name: str) -> tuple[datetime, datetime]:
    """"2026-11" → the instants its first local day starts and the next month's first day starts."""
    year, number = (int(part) for part in month.split("-"))
    start_day = date(year, number, 1)
    end_day = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    zone = ZoneInfo(tz_name)
    # In UTC, as every instant is stored: SQLite compares the stored text and ignores an offset.
    return (datetime.combine(start_day, time(0), zone).astimezone(UTC),
            datetime.combine(end_day, time(0), zone).astimezone(UTC))


def _counter(rows: Any) -> dict[str, int]:
    return {str(key) if key is not None else UNKNOWN: int(value) for key, value in rows}


def collect(session: Session, month: str, tz_name: str, records: CaseRecords) -> MonthlyFigures:
    start, end = month_bounds(month, tz_name)
    figures = MonthlyFigures(month=month)
    figures.conversations = session.scalar(select(func.count(func.distinct(InboundMessage.conversation_id))).where(
        InboundMessage.received_at >= start, InboundMessage.received_at < end)) or 0
    figures.new_conversations = session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.created_at >= start, Conversation.created_at < end)) or 0
    in_month = (Case.opened_at >= start, Case.opened_at < end)
    by_level = _counter(session.execute(select(Case.level, func.count()).where(*in_month).group_by(Case.level)))
    figures.disclosures_by_level = {level: by_level.get(level, 0) for level in DISCLOSURE_LEVELS}
    figures.disclosures_by_category = _counter(
        session.execute(select(Case.category, func.count()).where(*in_month).group_by(Case.category)))
    _places_and_ages(session, figures, list(session.scalars(select(Case.id).where(*in_month))), records)
    figures.reply_seconds = first_reply_seconds(session, start, end)
    figures.feedback_asked, figures.feedback = answer_counts(session, start, end)
    _referrals(session, figures, start, end)
    figures.reach = campaign_reach(session, start, end)
    return figures


def _places_and_ages(session: Session, figures: MonthlyFigures, case_ids: list[int], records: CaseRecords) -> None:
    """Counts by commune/ward and by age group; the decrypted records go no further than this."""
    attributes = records.attributes_of(session, case_ids).values()
    figures.by_commune = dict(Counter(a.commune for a in attributes))
    options = session.scalar(select(RecordField.options).where(RecordField.key == AGE_GROUP_KEY)) or []
    figures.age_group_labels = {str(o["value"]): str(o.get("label") or o["value"]) for o in options}
    counted = Counter(a.age_group for a in attributes)
    figures.by_age_group = {code: counted.pop(code, 0) for code in figures.age_group_labels}
    figures.by_age_group.update(counted)  # a retired option still held by a record, and UNKNOWN
    figures.age_group_labels[UNKNOWN] = UNKNOWN_LABEL


def _referrals(session: Session, figures: MonthlyFigures, start: datetime, end: datetime) -> None:
    created = (Referral.created_at >= start, Referral.created_at < end)
    by_recipient = _counter(session.execute(select(Referral.recipient, func.count()).where(*created)
                                            .group_by(Referral.recipient)))
    by_status = _counter(session.execute(select(Referral.status, func.count()).where(*created)
                                         .group_by(Referral.status)))
    figures.referrals_by_recipient = {key: by_recipient.pop(key, 0) for key in REFERRAL_RECIPIENTS} | by_recipient
    figures.referrals_by_status = {key: by_status.pop(key, 0) for key in REFERRAL_STATUSES} | by_status


def first_reply_seconds(session: Session, start: datetime, end: datetime) -> list[float]:
    """For each case opened in the month that a counselor answered: from the moment it needed a
    counselor (waiting since, else opened) to the counselor's first message."""
    first = (select(CaseMessage.case_id, func.min(CaseMessage.created_at).label("at"))
             .where(CaseMessage.author == "counselor").group_by(CaseMessage.case_id).subquery())
    rows = session.execute(select(Case.waiting_since, Case.opened_at, first.c.at)
                           .join(first, first.c.case_id == Case.id)
                           .where(Case.opened_at >= start, Case.opened_at < end))
    durations = []
    for waiting_since, opened_at, replied_at in rows:
        began = _aware(waiting_since or opened_at)
        durations.append(max(0.0, (_aware(replied_at) - began).total_seconds()))
    return sorted(durations)


def campaign_reach(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    subscribers = session.scalar(select(func.count()).select_from(Subscriber).where(
        Subscriber.opted_in_at < end, (Subscriber.opted_out_at.is_(None)) | (Subscriber.opted_out_at >= end))) or 0
    new_subscribers = session.scalar(select(func.count()).select_from(Subscriber).where(
        Subscriber.opted_in_at >= start, Subscriber.opted_in_at < end)) or 0
    broadcasts = session.scalar(select(func.count()).select_from(Broadcast).where(
        Broadcast.started_at >= start, Broadcast.started_at < end)) or 0
    recipients = session.scalar(select(func.count()).select_from(BroadcastDelivery).where(
        BroadcastDelivery.status == "queued", BroadcastDelivery.created_at >= start,
        BroadcastDelivery.created_at < end)) or 0
    quizzes_started = session.scalar(select(func.count()).select_from(QuizSession).where(
        QuizSession.started_at >= start, QuizSession.started_at < end)) or 0
    quizzes_finished = session.scalar(select(func.count()).select_from(QuizSession).where(
        QuizSession.started_at >= start, QuizSession.started_at < end, QuizSession.finished.is_(True))) or 0
    return {"subscribers_end_of_month": subscribers, "new_subscribers": new_subscribers, "broadcasts": broadcasts,
            "broadcast_recipients": recipients, "quizzes_started": quizzes_started,
            "quizzes_finished": quizzes_finished}


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values (the median is share 0.5)."""
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo("UTC"))


def publish(figures: MonthlyFigures) -> dict[str, Any]:
    """The report as published: every count suppressed under 5, durations only over 5 cases or more."""
    replies = figures.reply_seconds
    enough = len(replies) >= suppression.THRESHOLD
    return {
        "month": figures.month,
        "conversations": {"active": suppression.count(figures.conversations),
                          "new": suppression.count(figures.new_conversations)},
        "disclosures": {"by_level": suppression.with_total(figures.disclosures_by_level),
                        "by_category": suppression.with_total(figures.disclosures_by_category),
                        "by_commune": suppression.with_total(figures.by_commune),
                        "by_age_group": suppression.with_total(figures.by_age_group)},
        "referrals": {"by_recipient": suppression.with_total(figures.referrals_by_recipient),
                      "by_status": suppression.with_total(figures.referrals_by_status)},
        "first_reply": {"cases": suppression.count(len(replies)),
                        "median_seconds": round(percentile(replies, 0.5)) if enough else None,
                        "p90_seconds": round(percentile(replies, 0.9)) if enough else None},
        "feedback": {"asked": suppression.count(figures.feedback_asked),
                     "answers": suppression.with_total(figures.feedback)},
        "campaign": {key: suppression.count(value) for key, value in figures.reach.items()},
        "labels": {"age_group": figures.age_group_labels, "commune": {UNKNOWN: UNKNOWN_LABEL},
                   "referral_recipient": {**RECIPIENTS, "directory": "Nơi trong danh bạ hỗ trợ"},
                   "referral_status": REFERRAL_STATUS_LABELS},
        "suppression": {"threshold": suppression.THRESHOLD, "small": suppression.SMALL,
                        "hidden": suppression.HIDDEN},
    }
