"""The compiled check of action-server answers accepts and rejects exactly what Rasa's own does."""
from __future__ import annotations

import sys
from pathlib import Path

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import rasa_nlg.fallback  # noqa: E402,F401  (installs the compiled check, as the Rasa server does)
from rasa_nlg import validation  # noqa: E402

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


def test_loading_the_nlg_module_installs_the_compiled_check():
    assert RemoteAction._validate_action_result is validation.validate_action_result


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
