"""The gateway's risk vocabulary: the levels (RiskLevel, shared with the Rasa side through
vietnlu/risk/levels.py) and `Risk`, the one reading of a message's risk."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vietnlu.risk.levels import DISCLOSURE_TOPICS, LEVELS, RiskLevel

__all__ = ["DISCLOSURE_TOPICS", "LEVELS", "Risk", "RiskLevel", "risk_rank"]


def _as_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


@dataclass
class Risk:
    """The risk of one user message, from the actions' custom payload, from /model/parse, or from
    the intake screen's lexicon. The one risk reading type of the gateway (pipeline, cases, content)."""

    level: RiskLevel = RiskLevel.NONE
    category: str | None = None
    signals: list[str] = field(default_factory=list)
    escalate: bool = False
    counselor_requested: bool = False
    intent: str | None = None
    source: str = "action"  # action | parse
    confidence: float | None = None
    fallback: bool = False

    @classmethod
    def from_custom(cls, custom: dict[str, Any]) -> Risk:
        return cls(
            level=RiskLevel.of(custom.get("level")),
            category=custom.get("category"),
            signals=[str(s) for s in custom.get("signals") or []],
            escalate=bool(custom.get("escalate")),
            counselor_requested=bool(custom.get("counselor_requested")),
            intent=custom.get("intent"),
            source="action",
            confidence=_as_float(custom.get("confidence")),
            fallback=bool(custom.get("fallback")) or custom.get("intent") == "nlu_fallback",
        )

    @classmethod
    def from_parse(cls, parsed: dict[str, Any]) -> Risk:
        risk_field = parsed.get("risk")
        raw: dict[str, Any] = risk_field if isinstance(risk_field, dict) else {}
        level = RiskLevel.of(raw.get("level"))
        intent_field = parsed.get("intent")
        top_intent: dict[str, Any] | None = intent_field if isinstance(intent_field, dict) else None
        intent = top_intent.get("name") if top_intent is not None else None
        return cls(
            level=level,
            category=raw.get("category"),
            signals=[str(s) for s in raw.get("signals") or []],
            escalate=level.rank >= RiskLevel.HIGH.rank or intent == "request_counselor",
            counselor_requested=intent == "request_counselor",
            intent=intent,
            source="parse",
            confidence=_as_float(top_intent.get("confidence")) if top_intent is not None else None,
            fallback=intent == "nlu_fallback",
        )

    @property
    def needs_case(self) -> bool:
        """Concern or higher, or someone asked for a person: the message opens or joins a case."""
        return RiskLevel.of(self.level).rank >= RiskLevel.CONCERN.rank or self.escalate or self.counselor_requested

    @property
    def needs_counselor(self) -> bool:
        return RiskLevel.of(self.level).rank >= RiskLevel.HIGH.rank or self.escalate or self.counselor_requested


def risk_rank(level: str | None) -> int:
    """0 (none) to 3 (imminent); an unknown level ranks as none."""
    return RiskLevel.of(level).rank
