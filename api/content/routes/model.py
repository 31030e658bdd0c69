"""GET /api/v1/model: the model file Rasa replicas pull (api/content/model_server.py)."""
from __future__ import annotations

import hmac

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import FileResponse

from api.context import app_context
from api.deps import AppSettings

router = APIRouter(prefix="/api/v1", tags=["content: model"])


def _check_token(request: Request, settings: AppSettings) -> None:
    """Rasa's own token guards its model: Rasa sends it as ?token= (endpoints.yml models.token)."""
    expected = settings.rasa_token.get_secret_value()
    if not expected:
        if settings.environment == "production":
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="RASA_TOKEN is not set")
        return
    given = request.query_params.get("token") or request.headers.get("authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="invalid model token")


@router.api_route("/model", methods=["GET", "HEAD"], include_in_schema=False)
async def served_model(request: Request, settings: AppSettings) -> Response:
    _check_token(request, settings)
    served = app_context(request.app).retrain_runner.served
    fingerprint = served.fingerprint()
    if fingerprint is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no model to serve yet")
    if request.headers.get("if-none-match", "").strip('"') == fingerprint:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": fingerprint})
    # Rasa reads the ETag as the new model's fingerprint, unquoted.
    return FileResponse(served.path, media_type="application/gzip", headers={"ETag": fingerprint},
                        filename="model.tar.gz")
