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


def test_without_a_model_server_the_arguments_stay_as_given() -> None:
    from rasa_auth.launch import with_model_server

    args = ["rasa", "run", "--endpoints", "endpoints.yml"]
    assert with_model_server(args, {"RASA_TOKEN": "t"}) == args


def test_a_model_server_adds_a_models_section_to_a_private_copy(tmp_path, monkeypatch) -> None:
    import os
    import stat

    import yaml

    from rasa_auth.launch import with_model_server

    source = tmp_path / "endpoints.yml"
    source.write_text("action_endpoint:\n  url: ${ACTION_SERVER_URL}\n", encoding="utf-8")
    environ = {"RASA_TOKEN": "env-token", "MODEL_SERVER_URL": "http://gateway:8000/api/v1/model",
               "MODEL_PULL_SECONDS": "15"}
    args = with_model_server(["rasa", "run", "--endpoints", str(source), "--port", "5005"], environ)
    copy = args[args.index("--endpoints") + 1]
    assert copy != str(source) and args[-2:] == ["--port", "5005"]
    written = yaml.safe_load(open(copy, encoding="utf-8"))
    assert written["models"] == {"url": "http://gateway:8000/api/v1/model", "token": "env-token",
                                 "wait_time_between_pulls": 15}
    assert written["action_endpoint"]["url"] == "${ACTION_SERVER_URL}"  # Rasa fills it, as before
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600  # the copy holds the token
    assert "env-token" not in " ".join(args)


@pytest.mark.parametrize("environ", [
    {"RASA_TOKEN": "t", "MODEL_SERVER_URL": "gateway:8000/api/v1/model"},
    {"RASA_TOKEN": "t", "MODEL_SERVER_URL": "http://gateway/api/v1/model", "MODEL_PULL_SECONDS": "soon"},
])
def test_a_bad_model_server_setting_refuses_to_start(environ: dict) -> None:
    from rasa_auth.launch import models_section

    with pytest.raises(LaunchError):
        models_section(environ)


def test_the_launcher_waits_for_the_model_server_then_gives_up(monkeypatch) -> None:
    import urllib.error
    import urllib.request

    from rasa_auth.launch import wait_for_model_server

    class Clock:
        now = 0.0

        def monotonic(self) -> float:
            return self.now

        def sleep(self, seconds: float) -> None:
            self.now += seconds

    calls = []

    def refuse(request, timeout):  # the gateway is not up yet
        calls.append(request.full_url)
        raise urllib.error.URLError("connection refused")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    environ = {"RASA_TOKEN": "t", "MODEL_SERVER_URL": "http://gateway:8000/api/v1/model",
               "MODEL_SERVER_WAIT_SECONDS": "10"}
    assert wait_for_model_server(environ, clock=Clock()) is False
    assert len(calls) == 6 and calls[0] == "http://gateway:8000/api/v1/model?token=t"
    assert wait_for_model_server({"RASA_TOKEN": "t"}) is True  # no model server: nothing to wait for
