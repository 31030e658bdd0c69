"""A case's commune/ward and age group, for the search filter and the monthly report.

Both come from the structured case record (`casework_case_records`), which lives in `api/casework`,
a layer above this package: `api.cases` may not import it (pyproject.toml's import layers). So the
reader is injected rather than imported. This module names what case search needs (`CaseRecords`)
and gives the answer of a gateway without case records (`NoCaseRecords`: every case is UNKNOWN);
`api.casework.setup` installs the reader of the stored records (`api/casework/attributes.py`) on the
app context as `case_records`, and `case_records(context)` gives it. Search keeps its route, filters
and paging here and asks the reader only for the commune condition.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.orm import Session

from api.context import AppContext

UNKNOWN = "chưa rõ"


@dataclass(frozen=True)
class CaseAttributes:
    commune: str = UNKNOWN
    age_group: str = UNKNOWN


@dataclass(frozen=True)
class CommuneFilter:
    """The SQL condition on `cases` for "in this commune/ward", and whether the bounded reading of
    the records was cut short (records beyond the limit are not matched)."""

    condition: ColumnElement[bool]
    truncated: bool = False


class CaseRecords(Protocol):
    """What case search and the report read of the structured case record."""

    def attributes_of(self, session: Session, case_ids: Sequence[int]) -> dict[int, CaseAttributes]:
        """Commune/ward and age group of each case (UNKNOWN where not recorded)."""
        ...

    def commune_filter(self, session: Session, conditions: Sequence[ColumnElement[bool]],
                       commune: str) -> CommuneFilter:
        """The cases among those meeting `conditions` whose record names `commune` (UNKNOWN: none)."""
        ...


def is_unknown(commune: str) -> bool:
    """"chưa rõ", "Chua ro", "CHƯA RÕ" all ask for the cases with no commune recorded."""
    decomposed = unicodedata.normalize("NFD", commune.casefold())
    return " ".join("".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").split()) == "chua ro"


class NoCaseRecords:
    """A gateway without the case record: no case has a commune or an age group."""

    def attributes_of(self, session: Session, case_ids: Sequence[int]) -> dict[int, CaseAttributes]:
        return {case_id: CaseAttributes() for case_id in case_ids}

    def commune_filter(self, session: Session, conditions: Sequence[ColumnElement[bool]],
                       commune: str) -> CommuneFilter:
        return CommuneFilter(true() if is_unknown(commune) else false())


def case_records(context: AppContext) -> CaseRecords:
    """The app's reader of the case records (none installed: no case has a commune or an age group)."""
    return context.case_records if context.case_records is not None else NoCaseRecords()
