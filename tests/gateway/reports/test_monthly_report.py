"""GET /api/v1/reports/monthly(.csv): the figures of a seeded month, small counts suppressed (and the
cell that would give a suppressed one away), other months left out, bad input, roles, audit."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from api.auth.models import AuditLog
from api.settings import Settings
from tests.gateway.cases.casework import app_of, served, staff
from tests.gateway.reports.seed import seed_october

pytestmark = pytest.mark.asyncio
async def test_figures_of_a_seeded_month_with_suppression(settings: Settings) -> None:
    async with served(settings) as http:
        app = app_of(http)
        hoa_id, hoa = staff(app, "hoa@example.vn", "supervisor")
        _, lan = staff(app, "lan@example.vn", "counselor")
        seed_october(app)

        response = await http.get("/api/v1/reports/monthly?month=2026-10", headers=hoa)
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["conversations"] == {"active": 15, "new": 15}
        # imminent (2) is "<5"; concern (6), the smallest other cell, is hidden so 15 − 7 gives nothing away.
        assert report["disclosures"]["by_level"] == {"total": 15, "cells": {"concern": "*", "high": 7,
                                                                            "imminent": "<5"}}
        assert report["disclosures"]["by_category"]["cells"] == {
            "disclose_sexual_abuse": 7, "disclose_bullying": "*", "disclose_self_harm": "<5"}
        assert report["disclosures"]["by_commune"] == {"total": 15, "cells": {"chưa rõ": 15}}
        assert report["disclosures"]["by_age_group"] == {"total": 15, "cells": {
            "under_6": 0, "6_10": 0, "11_14": 0, "15_17": 0, "unknown": 0, "chưa rõ": 15}}
        assert report["first_reply"] == {"cases": 6, "median_seconds": 180, "p90_seconds": 600}
        assert report["feedback"] == {"asked": 7, "answers": {"total": 7, "cells": {
            "helped": "*", "somewhat": "<5", "not_helped": 0}}}
        assert report["campaign"] == {"subscribers_end_of_month": 6, "new_subscribers": 6, "broadcasts": "<5",
                                      "broadcast_recipients": 0, "quizzes_started": "<5", "quizzes_finished": 0}
        assert report["referrals"]["by_recipient"]["total"] == 0  # no referral seeded here

        november = (await http.get("/api/v1/reports/monthly?month=2026-11", headers=hoa)).json()
        assert november["disclosures"]["by_level"] == {"total": "<5", "cells": {"concern": 0, "high": "<5",
                                                                                "imminent": 0}}
        assert november["first_reply"] == {"cases": 0, "median_seconds": None, "p90_seconds": None}

        exported = await http.get("/api/v1/reports/monthly.csv?month=2026-10", headers=hoa)
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
        assert rows[0] == ["section", "item", "value"]
        assert ["disclosures.by_level.cells", "imminent", "<5"] in rows
        assert ["disclosures.by_level.cells", "high", "7"] in rows
        assert ["first_reply", "median_seconds", "180"] in rows

        for bad in ("2026-13", "2026-1", "oct", "1999-01", ""):
            assert (await http.get(f"/api/v1/reports/monthly?month={bad}", headers=hoa)).status_code == 422, bad
        assert (await http.get("/api/v1/reports/monthly?month=2026-10", headers=lan)).status_code == 403
        with app.state.context.database.session() as session:
            audited = list(session.scalars(select(AuditLog).where(AuditLog.action == "report.monthly")))
        assert [(a.user_id, a.target) for a in audited] == [(hoa_id, "month:2026-10"), (hoa_id, "month:2026-11"),
                                                            (hoa_id, "month:2026-10")]
