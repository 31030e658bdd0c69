"""The monthly report reads commune/ward and age group from the (encrypted) case records of the month's
cases and counts the referrals created in the month, by recipient and by status, all through the
small-count suppression; other months' records and referrals stay out; the CSV carries them."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.casework.models import CaseRecord, Referral
from api.casework.records import save_values
from api.settings import Settings
from tests.gateway.cases.casework import app_of, disclose, served, staff, update_case
from tests.gateway.reports.seed import OCTOBER, seed_october

pytestmark = pytest.mark.asyncio

TAM_KY = {"province": "Đà Nẵng", "commune": "Phường Tam Kỳ", "age_group": "11_14", "gender": "girl"}
HOI_AN = {"province": "Đà Nẵng", "commune": "Phường Hội An", "age_group": "15_17"}


def _record(app: FastAPI, case_id: int, values: dict[str, str], user_id: int) -> None:
    context = app.state.context
    with context.database.transaction() as session:
        save_values(session, context.crypto, case_id, values, user_id)


def _referral(app: FastAPI, case_id: int, recipient: str, status: str, created_at: datetime) -> None:
    context = app.state.context
    with context.database.transaction() as session:
        session.add(Referral(case_id=case_id, recipient=recipient, recipient_name="…", status=status,
                             reason_encrypted=context.crypto.encrypt("lý do"),
                             shared_encrypted=context.crypto.encrypt("chia sẻ"), due_date=date(2026, 11, 30),
                             created_at=created_at, updated_at=created_at))


async def test_commune_age_group_and_referrals_of_the_month(settings: Settings) -> None:
    async with served(settings) as http:
        app = app_of(http)
        hoa_id, hoa = staff(app, "hoa@example.vn", "supervisor")
        october = seed_october(app)
        for case_id in october[:8]:
            _record(app, case_id, TAM_KY, hoa_id)
        for case_id in october[8:10]:
            _record(app, case_id, HOI_AN, hoa_id)
        _record(app, october[10], {"gender": "boy"}, hoa_id)  # a record without commune or age group
        # November: a case with a record and a referral, both outside October.
        november_case = disclose(app, "telegram", "4242", "n1", "…", "high", "disclose_neglect")
        update_case(app, november_case, opened_at=datetime(2026, 11, 5, 3, 0, tzinfo=UTC))
        _record(app, november_case, HOI_AN, hoa_id)
        _referral(app, november_case, "police", "sent", datetime(2026, 11, 3, tzinfo=UTC))
        for n in range(7):
            _referral(app, october[n], "111", "done" if n < 5 else "sent", OCTOBER + timedelta(days=n))
        for n in (8, 9):
            _referral(app, october[n], "commune", "acknowledged", OCTOBER + timedelta(days=n))
        # 31 October 23:30 in Hà Nội is still October; 1 November 00:30 there is not.
        _referral(app, october[11], "health", "sent", datetime(2026, 10, 31, 16, 30, tzinfo=UTC))
        _referral(app, october[12], "health", "sent", datetime(2026, 10, 31, 17, 30, tzinfo=UTC))
        with app.state.context.database.session() as session:
            stored = session.scalars(select(CaseRecord.values_encrypted)).all()
            # Words base64 never holds (a space, a diacritic, a quote): a ciphertext may hold "Tam" by chance.
            assert len(stored) == 12 and not [v for v in stored if "Tam Kỳ" in v or "\"11_14\"" in v]

        report = (await http.get("/api/v1/reports/monthly?month=2026-10", headers=hoa)).json()
        disclosures = report["disclosures"]
        # Hội An (2) is "<5"; the smallest other cell, "chưa rõ" (5: four cases without a record and one
        # whose record has no commune), is hidden so that 15 − 8 gives nothing away.
        assert disclosures["by_commune"] == {"total": 15, "cells": {
            "Phường Tam Kỳ": 8, "Phường Hội An": "<5", "chưa rõ": "*"}}
        assert disclosures["by_age_group"] == {"total": 15, "cells": {
            "under_6": 0, "6_10": 0, "11_14": 8, "15_17": "<5", "unknown": 0, "chưa rõ": "*"}}
        referrals = report["referrals"]
        assert "available" not in referrals and "note" not in referrals
        assert referrals["by_recipient"] == {"total": 10, "cells": {
            "111": 7, "commune": "<5", "province": 0, "police": 0, "health": "<5", "other": 0, "directory": 0}}
        assert referrals["by_status"] == {"total": 10, "cells": {
            "sent": "<5", "acknowledged": "<5", "in_progress": 0, "done": 5, "declined": 0}}
        assert report["labels"]["age_group"]["11_14"] == "11–14 tuổi"
        assert report["labels"]["referral_recipient"]["commune"] == "Cán bộ bảo vệ trẻ em cấp xã, phường"
        assert report["labels"]["referral_status"]["acknowledged"] == "Đã xác nhận"
        assert "lý do" not in str(report) and "girl" not in str(report)  # aggregates only

        november = (await http.get("/api/v1/reports/monthly?month=2026-11", headers=hoa)).json()
        assert november["disclosures"]["by_commune"] == {"total": "<5", "cells": {
            "chưa rõ": "<5", "Phường Hội An": "<5"}}
        assert november["referrals"]["by_recipient"]["cells"]["police"] == "<5"
        assert november["referrals"]["by_recipient"]["cells"]["health"] == "<5"
        assert november["referrals"]["by_status"] == {"total": "<5", "cells": {
            "sent": "<5", "acknowledged": 0, "in_progress": 0, "done": 0, "declined": 0}}

        exported = await http.get("/api/v1/reports/monthly.csv?month=2026-10", headers=hoa)
        rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
        assert ["disclosures.by_commune.cells", "Phường Tam Kỳ", "8"] in rows
        assert ["disclosures.by_age_group.cells", "15_17", "<5"] in rows
        assert ["referrals.by_status.cells", "done", "5"] in rows
        assert ["referrals.by_recipient.cells", "111", "7"] in rows
        assert ["labels.age_group", "11_14", "11–14 tuổi"] in rows
