"""The launcher takes Rasa's token from RASA_TOKEN and only from there."""
from __future__ import annotations

import pytest

from rasa_auth.launch import LaunchError, rasa_argv


def test_the_token_comes_from_the_environment() -> None:
    argv = rasa_argv(["run", "--enable-api", "--port", "5005"], {"RASA_TOKEN": "env-token"})
    assert argv == ["rasa", "run", "--enable-api", "--port", "5005", "--auth-token", "env-token"]


@pytest.mark.parametrize("args", [
    ["run", "--enable-api", "--auth-token", "argv-token"],
    ["run", "--auth-token=argv-token"],
])
def test_a_token_on_the_command_line_is_refused(args: list) -> None:
    with pytest.raises(LaunchError, match="never from the command line"):
        rasa_argv(args, {"RASA_TOKEN": "env-token"})


def test_no_token_in_the_environment_refuses_to_start() -> None:
    with pytest.raises(LaunchError, match="RASA_TOKEN must be set"):
        rasa_argv(["run", "--enable-api"], {})
    with pytest.raises(LaunchError):
        rasa_argv(["run", "--enable-api"], {"RASA_TOKEN": ""})


@pytest.mark.parametrize("args", [[], ["train"], ["run", "actions"]])
def test_only_the_rasa_server_is_started(args: list) -> None:
    with pytest.raises(LaunchError):
        rasa_argv(args, {"RASA_TOKEN": "env-token"})
