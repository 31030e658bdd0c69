"""Wires the monthly report's API and page into the gateway app."""
from __future__ import annotations

from fastapi import FastAPI

from api.reports.routes import page_router, router


def install_reports(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(page_router)
