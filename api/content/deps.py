"""Role aliases and small helpers shared by the content routes."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException

from api.auth import User
from api.content.responses import Author, ContentError
from api.deps import require_roles

# Campaign staff edit content; admins may too. Supervisors may approve safety-critical edits
# (a second pair of eyes from the counselling side) but do not write content.
ContentStaff = Annotated[User, Depends(require_roles("campaign_staff", "admin"))]
ContentReviewer = Annotated[User, Depends(require_roles("campaign_staff", "admin", "supervisor"))]


def author_of(user: User) -> Author:
    return Author(id=user.id, name=user.email)


def http_error(error: ContentError) -> HTTPException:
    return HTTPException(error.status, detail=error.message)
