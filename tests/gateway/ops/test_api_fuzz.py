"""A bounded schemathesis run over every operation of the OpenAPI schema, against the app in-process
(signed in as an admin, so the handlers run, not only the role checks): valid and invalid inputs
must never get a 5xx, every status answered must be one the schema documents, and every answer
must match the schema documented for its status.

The webhooks and the web chat API are not in the schema; tests/gateway/ops/test_bad_input.py
covers them by hand."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import get_client, shutdown_lifespans
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from api.main import create_app
from api.settings import Settings
from tests.gateway.content.small_domain import TEST_DOMAIN
from tests.gateway.staff import staff_token

# Valid inputs reach deeper than invalid ones (those mostly stop at validation): more of them.
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 4}
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# An endless event stream, and a retrain that starts a training subprocess.
SKIPPED = {("GET", "/api/v1/events"), ("POST", "/api/v1/retrain")}


def _call_and_check(case: Any, client: requests.Session, headers: dict[str, str], problems: list[str],
                    label: str) -> int:
    try:
        response = case.call(session=client, headers=headers)
    except (requests.exceptions.InvalidHeader, ValueError):
        return 0  # a generated header value no HTTP client can send (e.g. a raw CR)
    try:
        case.validate_response(response, checks=CHECKS)
    except (Exception, BaseExceptionGroup) as failure:  # schemathesis raises a group of failed checks
        problems.append(f"{case.operation.method.upper()} {case.operation.path} {label} "
                        f"→ {response.status_code}: {str(failure)[:300]}")
    return 1


def _fuzz_operation(operation: Any, client: requests.Session, headers: dict[str, str],
                    mode: GenerationMode, problems: list[str]) -> int:
    sent = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(max_examples=EXAMPLES[mode], deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case: Any) -> None:
        nonlocal sent
        sent += _call_and_check(case, client, headers, problems, f"[{mode.value}]")
        ids = {name: value for name, value in (case.path_parameters or {}).items() if isinstance(value, int)}
        if ids:
            # Random ids almost never exist, so the handler would stop at its 404: the same input
            # again with id 1, a row that does exist for users (the admin), reaches the code behind it.
            case.path_parameters = {**case.path_parameters, **dict.fromkeys(ids, 1)}
            sent += _call_and_check(case, client, headers, problems, f"[{mode.value}, id 1]")

    try:
        run()
    except Unsatisfiable:  # no invalid input exists for an operation without parameters
        pass
    return sent


def test_no_operation_answers_5xx_or_off_its_schema(settings: Settings, tmp_path: Path) -> None:
    domain = tmp_path / "domain.yml"
    domain.write_text(TEST_DOMAIN, encoding="utf-8")
    (tmp_path / "nlu").mkdir()
    app = create_app(settings.model_copy(update={
        "api_docs": "on", "domain_path": str(domain), "nlu_data_dir": str(tmp_path / "nlu"),
        "retrain_command": "false", "login_limit_per_address": "1000/minute"}))
    problems: list[str] = []
    sent = 0
    try:
        with get_client(app) as client:  # starts the app's lifespan on schemathesis's event loop
            admin = staff_token(app, "fuzz-admin@example.vn", role="admin")
            schema = schemathesis.openapi.from_asgi("/openapi.json", app)
            operations = [result.ok() for result in schema.get_all_operations()]
            assert len(operations) > 40
            for operation in operations:
                if (operation.method.upper(), operation.path) in SKIPPED:
                    continue
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    sent += _fuzz_operation(operation, client, admin, mode, problems)
    finally:
        shutdown_lifespans()
    assert sent > 200
    assert not problems, "\n".join(problems[:20])


@pytest.fixture(autouse=True)
def _sqlite_only(database_url: str) -> None:
    """Input handling is the same on both databases; the fuzz run is the slowest test here."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the fuzz run uses SQLite only")
