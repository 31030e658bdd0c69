"""While Rasa is down, the gateway reads risk with the learned model beside the rules
(api/cases/learned_risk.py): a disclosure the rules alone would miss still opens its case at once.

Uses the model `make train` builds (models/current.tar.gz); `make test` trains it before these tests.
"""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.cases.learned_risk import LearnedRisk
from api.cases.models import Case
from api.main import create_app
from api.messaging.texts import SERVICE_UNAVAILABLE
from api.settings import Settings
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.waiting import eventually

MODEL = Path(__file__).resolve().parents[3] / "models" / "current.tar.gz"
CHILD = 5550777
# A farewell and a child at a height, in words the risk lexicon does not hold.
UNSEEN_BY_THE_RULES = ["mai em không còn ở đây nữa đâu, cảm ơn chị đã nghe em nói mấy tháng qua",
                       "em đứng ở lan can tầng 9 nãy giờ, gió lạnh quá"]

needs_model = pytest.mark.skipif(not MODEL.is_file(), reason="no trained model: run `make train`")


@pytest.fixture(scope="module")
def learned() -> LearnedRisk:
    model = LearnedRisk.load(MODEL) if MODEL.is_file() else None
    if model is None:
        pytest.skip("no trained model: run `make train`")
    return model


@needs_model
@pytest.mark.parametrize("text", UNSEEN_BY_THE_RULES)
def test_the_model_reads_what_the_rules_miss(learned: LearnedRisk, text: str) -> None:
    from vietnlu import risk as engine

    rules = engine.assess(text, None, 0.0, lexicon=engine.load_default_risk_lexicon())
    assert rules.level in ("none", "concern")
    combined = learned.read(text, rules)
    assert combined.level in ("high", "imminent")
    assert any(signal.startswith("model:") for signal in combined.signals)  # counselors see why


def test_a_faint_model_reading_still_escalates_while_rasa_is_down() -> None:
    """Without the classifier's intents the rules cannot back a reading: no two-keys rule here."""
    from vietnlu.risk.model import ModelReading
    from vietnlu.risk.rules import RiskAssessment

    faint = ModelReading("high", {"none": 0.5, "concern": 0.45, "high": 0.04, "imminent": 0.01},
                         {"harm": "self_harm", "who": "self", "when": "now"}, [])

    class FaintModel:
        def read(self, text: str) -> ModelReading:
            return faint

    learned = LearnedRisk(FaintModel(), Path("models/current.tar.gz"))  # type: ignore[arg-type]
    assert learned.read("mai em đi xa", RiskAssessment()).level == "high"


def test_no_model_file_leaves_the_rules_alone(tmp_path: Path) -> None:
    assert LearnedRisk.load(tmp_path / "missing.tar.gz") is None
    (tmp_path / "broken.tar.gz").write_bytes(b"not a model")
    assert LearnedRisk.load(tmp_path / "broken.tar.gz") is None


@contextlib.asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield app, http


@needs_model
@pytest.mark.asyncio
@pytest.mark.parametrize("with_model", [True, False], ids=["learned", "rules-only"])
async def test_a_disclosure_only_the_model_reads_opens_a_case_while_rasa_is_down(
        settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa, with_model: bool) -> None:
    fake_rasa.down = True
    settings = settings.model_copy(update={"learned_risk_when_rasa_down": with_model,
                                           "served_model_path": str(MODEL)})
    async with _running(settings) as (app, http):
        context = app.state.context
        if with_model:
            await eventually(lambda: context.learned_risk is not None, timeout=60, what="the learned model")
        assert (await post_update(http, text_update(CHILD, UNSEEN_BY_THE_RULES[0]))).status_code == 200
        await eventually(lambda: any(m["text"] == SERVICE_UNAVAILABLE.default
                                     for m in fake_telegram.sent(CHILD)), what="the hotline fallback")
        with context.database.session() as session:
            cases = list(session.scalars(select(Case)))
        if with_model:
            assert len(cases) == 1 and cases[0].level in ("high", "imminent") and cases[0].status == "waiting"
        else:
            assert cases == []  # the rules alone do not see it: the case waits for Rasa
