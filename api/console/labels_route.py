"""GET /api/v1/labels: the Vietnamese names of every code (api/labels.py) for the browser UIs."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api import labels
from api.deps import ERROR_RESPONSES, CurrentUser
from api.security.json_body import GuardedJsonRoute

router = APIRouter(prefix="/api/v1", tags=["labels"], route_class=GuardedJsonRoute, responses=ERROR_RESPONSES)
_LABELS = labels.as_json()


@router.get("/labels")
def get_labels(user: CurrentUser) -> dict[str, Any]:
    """Levels, statuses, categories, channels, roles, note kinds, outcomes, buttons, signal parts and
    which console serves which role. Any signed-in staff member may read them (no case data)."""
    return _LABELS
