"""The compiled check of action-server answers accepts and rejects exactly what Rasa's own does."""
from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from rasa_nlg.fallback import FallbackCallbackNLG
from rasa_speedups import action_result_check

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "risk_level", "value": "high", "timestamp": None}],
     "responses": [{"response": "utter_greet"}, {"custom": {"type": "risk", "level": "high"}}]},
    {},
]
INVALID = [
    {"events": "not a list", "responses": []},
    {"events": [{"event": "slot", "name": "risk_level", "value": "high"}], "responses": ["text"]},
    {"events": [{"no_event_key": 1}]},
    [],
]


@pytest.fixture(scope="module", autouse=True)
def nlg_built_as_the_rasa_server_does():
    FallbackCallbackNLG(EndpointConfig(url="http://127.0.0.1:9/nlg"))


def test_building_the_nlg_installs_the_compiled_check():
    assert RemoteAction._validate_action_result is action_result_check.validate_action_result


@pytest.mark.parametrize("result", VALID)
def test_valid_answers_pass_both_checks(result):
    jsonschema.validate(result, RemoteAction.action_response_format_spec())  # Rasa's reference check
    assert RemoteAction("action_answer", None)._validate_action_result(result) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_answers_fail_both_checks_with_the_docs_pointer(result):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError) as caught:
        RemoteAction("action_answer", None)._validate_action_result(result)
    assert "Failed to validate Action server response" in caught.value.message
