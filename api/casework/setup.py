"""Plugs the casework into the app: its routes, the seed data and the referral follow-up."""
from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from api.casework.attributes import RecordAttributes
from api.casework.canned import seed_canned
from api.casework.canned_routes import router as canned_router
from api.casework.followup import ReferralFollowUp
from api.casework.record_routes import router as record_router
from api.casework.referral_routes import router as referral_router
from api.casework.schema import seed_fields
from api.context import app_context
from api.db.session import Database

log = logging.getLogger(__name__)


def seed(database: Database) -> None:
    """The record fields and canned replies of the seed files that are not in the tables yet."""
    for attempt in (1, 2):
        try:
            with database.transaction() as session:
                fields, replies = seed_fields(session), seed_canned(session)
            if fields or replies:
                log.info("casework seeded: %d record fields, %d canned replies", fields, replies)
            return
        except IntegrityError:
            # Another replica starting at the same moment inserted them first: look again once.
            if attempt == 2:
                raise


def install_casework(app: FastAPI) -> None:
    """Call from create_app after the case features (it uses their event broker and notifier)."""
    context = app_context(app)
    context.case_records = RecordAttributes(context.crypto)  # case search and the report read the records
    for router in (record_router, referral_router, canned_router):
        app.include_router(router)

    async def start(app: FastAPI) -> ReferralFollowUp:
        await asyncio.to_thread(seed, context.database)
        follow_up = ReferralFollowUp(context.write_gate, context.settings, context.crypto, context.case_events,
                                     wake_notifier=lambda: context.case_notifier.wake())
        context.referral_follow_up = follow_up
        return await follow_up.start()

    context.startup_services.append(start)
