"""The content console's HTTP API, one module per resource (all under /api/v1), plus Rasa's /nlg."""
from fastapi import APIRouter

from api.content.routes import broadcasts, dashboard, directory, inbox, model, quizzes, responses, retrain

ROUTERS: list[APIRouter] = [
    responses.router,
    responses.nlg_router,
    inbox.router,
    retrain.router,
    model.router,
    broadcasts.router,
    quizzes.router,
    directory.router,
    dashboard.router,
]
