"""The retention policy, read from the settings: one line per kind of data (docs/privacy.md)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from api.settings import Settings

DAYS_PER_MONTH = 30


@dataclass(frozen=True)
class RetentionRule:
    name: str
    tables: tuple[str, ...]
    days: int  # 0: kept (the rule is off)
    action: str  # what happens when the time is up
    setting: str

    @property
    def enabled(self) -> bool:
        return self.days > 0

    def cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.days)


@dataclass(frozen=True)
class RetentionPolicy:
    closed_cases: RetentionRule
    conversations: RetentionRule
    message_rows: RetentionRule
    delivery_logs: RetentionRule
    audit_log: RetentionRule

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        return cls(
            closed_cases=RetentionRule(
                "closed_cases", ("cases", "case_messages", "case_notes", "notifications"),
                settings.retention_closed_case_months * DAYS_PER_MONTH,
                "anonymised: messages, notes and alerts deleted, level/category/outcome/dates kept",
                "RETENTION_CLOSED_CASE_MONTHS"),
            conversations=RetentionRule(
                "conversations", ("conversations", "inbound_messages", "outbound_messages", "rasa tracker",
                                  "content_inbox_items", "privacy_consents"),
                settings.retention_conversation_days,
                "deleted with everything that hangs from it (not while subscribed to broadcasts)",
                "RETENTION_CONVERSATION_DAYS"),
            message_rows=RetentionRule(
                "message_rows", ("inbound_messages", "outbound_messages"), settings.retention_message_rows_days,
                "processed rows deleted (not in a conversation with an open or held case)",
                "RETENTION_MESSAGE_ROWS_DAYS"),
            delivery_logs=RetentionRule(
                "delivery_logs", ("notifications", "content_broadcast_deliveries"),
                settings.retention_delivery_log_days, "sent or failed records deleted",
                "RETENTION_DELIVERY_LOG_DAYS"),
            audit_log=RetentionRule(
                "audit_log", ("audit_log",), settings.retention_audit_log_days, "deleted",
                "RETENTION_AUDIT_LOG_DAYS"),
        )

    def rules(self) -> list[RetentionRule]:
        return [self.closed_cases, self.conversations, self.message_rows, self.delivery_logs, self.audit_log]

    def as_table(self) -> list[dict[str, object]]:
        """The policy as the API and docs show it (the web chat mailbox keeps its own 24 hours)."""
        rows: list[dict[str, object]] = [
            {"rule": rule.name, "tables": list(rule.tables), "days": rule.days or None, "action": rule.action,
             "setting": rule.setting} for rule in self.rules()]
        rows.append({"rule": "webchat_mailbox", "tables": ["webchat_replies"], "days": 1,
                     "action": "deleted by the web chat itself after 24 hours", "setting": None})
        return rows
