"""Retrain from the console: the new model is swapped in only when no figure is worse."""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.settings import Settings
from tests.gateway.fakes.server import free_port
from tests.gateway.staff import staff_token
from tests.gateway.waiting import eventually, eventually_blocking

pytestmark = pytest.mark.asyncio
FAKE_SERVER = Path(__file__).parents[1] / "fakes" / "nlu_model_server.py"


@pytest.fixture(params=["weak_candidate", "good_candidate"])
def case(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=["put", "pull"])
def delivery(request: pytest.FixtureRequest) -> str:
    """How an approved model reaches Rasa: PUT /model, or the served file replicas pull."""
    return request.param


@pytest.fixture
def running_rasa(tmp_path: Path, case: str) -> Iterator[tuple[str, Path]]:
    """The 'running' Rasa: good when the candidate is weak, weak when the candidate is good."""
    model = tmp_path / "running.json"
    model.write_text(json.dumps({"quality": "good" if case == "weak_candidate" else "weak"}))
    record = tmp_path / "swaps.txt"
    port = free_port()
    process = subprocess.Popen([sys.executable, str(FAKE_SERVER), "--port", str(port), "--model", str(model),  # noqa: S603
                                "--record", str(record)])
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            httpx.get(f"{url}/status", timeout=1)
            return True
        except httpx.HTTPError:
            return False

    eventually_blocking(answers, what="the fake Rasa server")
    yield url, record
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, running_rasa: tuple[str, Path],
             case: str, delivery: str) -> Settings:
    models = tmp_path / "models"
    models.mkdir()
    quality = "weak" if case == "weak_candidate" else "good"
    train = (f"{sys.executable} -c \"import json,time; "
             f"open('{models}/'+time.strftime('%Y%m%d-%H%M%S')+'.tar.gz','w').write(json.dumps({{'quality':'{quality}'}}))\"")
    return settings.model_copy(update={
        "rasa_url": running_rasa[0],
        "retrain_command": train,
        "retrain_models_dir": str(models),
        "eval_server_command": f"{sys.executable} {FAKE_SERVER} --port {{port}} --model {{model}}",
        "eval_server_port": free_port(),
        "model_delivery": delivery,
        "served_model_path": str(tmp_path / "served" / "current.tar.gz"),
    })


async def test_retrain_swaps_only_a_model_that_is_not_worse(client: httpx.AsyncClient, app: FastAPI,
                                                            running_rasa: tuple[str, Path], case: str,
                                                            delivery: str, settings: Settings) -> None:
    headers = staff_token(app, "lan@example.org")
    started = await client.post("/api/v1/retrain", headers=headers)
    assert started.status_code == 202
    job_id = started.json()["id"]
    assert (await client.post("/api/v1/retrain", headers=headers)).status_code == 409  # one at a time
    await app.state.context.retrain_runner.wait()
    job = (await client.get(f"/api/v1/retrain/{job_id}", headers=headers)).json()
    record = running_rasa[1]
    if case == "weak_candidate":
        assert job["status"] == "refused", job
        assert any("recall_high_plus" in reason for reason in job["reasons"])
        assert job["candidate_metrics"]["recall_any_risk"] < job["baseline_metrics"]["recall_any_risk"]
        assert not record.exists()  # PUT /model never called
        assert app.state.context.retrain_runner.served.fingerprint() is None  # nothing published
    elif delivery == "put":
        assert job["status"] == "swapped", job
        assert job["reasons"] == [] and job["progress"] == 100
        await eventually(lambda: record.exists(), what="PUT /model")
        assert record.read_text().strip().endswith(".tar.gz")
    else:  # replicas pull the approved file; Rasa is never asked to PUT
        assert job["status"] == "swapped", job
        served = app.state.context.retrain_runner.served
        assert served.path.read_bytes() == (Path(settings.retrain_models_dir) / job["model"]).read_bytes()
        assert not record.exists()
        assert job["candidate_metrics"]["topic_accuracy"] == 1.0
