"""Start the Rasa server with its token from the environment, never from the command line.

    RASA_TOKEN=... python -m rasa_auth.launch run --enable-api --port 5005 ...

`rasa run --auth-token <token>` puts the token in the process's arguments, which `ps` shows every
user of the machine. This runs Rasa's command line in this process with `--auth-token` added to
`sys.argv` only: the arguments the operating system shows are the ones given above.

With `MODEL_SERVER_URL` set (the gateway's GET /api/v1/model), the replica takes its model from there
and pulls it again every `MODEL_PULL_SECONDS` (60 by default): the endpoints file given is copied
with a `models:` section added (the token, the same `RASA_TOKEN`, goes in that copy, never on the
command line), so a model the gateway approves reaches every replica.
"""
from __future__ import annotations

import os
import sys
import tempfile
from typing import Any, Dict, List, Mapping, Sequence

TOKEN_ENV = "RASA_TOKEN"  # noqa: S105 (the variable's name)
MODEL_SERVER_ENV = "MODEL_SERVER_URL"
PULL_SECONDS_ENV = "MODEL_PULL_SECONDS"
WAIT_SECONDS_ENV = "MODEL_SERVER_WAIT_SECONDS"
DEFAULT_PULL_SECONDS = 60
DEFAULT_WAIT_SECONDS = 120


class LaunchError(ValueError):
    """The command cannot start Rasa safely."""


def rasa_argv(args: Sequence[str], environ: Mapping[str, str]) -> List[str]:
    """Rasa's arguments: `args` plus the token from `environ` (a token given in `args` is refused)."""
    if not args or args[0] != "run" or (len(args) > 1 and args[1] == "actions"):
        raise LaunchError("starts the Rasa server only: `run ...` (the action server needs no token)")
    if any(arg == "--auth-token" or arg.startswith("--auth-token=") for arg in args):
        raise LaunchError(f"the token is read from {TOKEN_ENV}, never from the command line")
    token = environ.get(TOKEN_ENV, "")
    if not token:
        raise LaunchError(f"{TOKEN_ENV} must be set")
    return ["rasa", *args, "--auth-token", token]


def models_section(environ: Mapping[str, str]) -> Dict[str, Any]:
    """The `models:` endpoint for Rasa's model server, or {} when `MODEL_SERVER_URL` is unset."""
    url = environ.get(MODEL_SERVER_ENV, "").strip()
    if not url:
        return {}
    if not url.startswith(("http://", "https://")):
        raise LaunchError(f"{MODEL_SERVER_ENV} must be an http(s) URL")
    try:
        seconds = int(environ.get(PULL_SECONDS_ENV, "") or DEFAULT_PULL_SECONDS)
    except ValueError:
        raise LaunchError(f"{PULL_SECONDS_ENV} must be a whole number of seconds") from None
    return {"url": url, "token": environ.get(TOKEN_ENV, ""), "wait_time_between_pulls": max(1, seconds)}


def with_model_server(args: List[str], environ: Mapping[str, str]) -> List[str]:
    """`args` with `--endpoints` pointing at a private copy that has the `models:` section."""
    section = models_section(environ)
    if not section:
        return args
    import yaml

    args = list(args)
    source = "endpoints.yml"
    if "--endpoints" in args:
        source = args[args.index("--endpoints") + 1]
    with open(source, encoding="utf-8") as handle:
        text = handle.read()
    endpoints = yaml.safe_load(text) or {}
    endpoints["models"] = section
    handle_fd, path = tempfile.mkstemp(prefix="rasa-endpoints-", suffix=".yml")
    os.fchmod(handle_fd, 0o600)  # it holds the token
    with os.fdopen(handle_fd, "w", encoding="utf-8") as out:
        # ${VARS} stay as written: Rasa fills them from the environment when it reads the copy.
        yaml.safe_dump(endpoints, out, allow_unicode=True, sort_keys=False)
    if "--endpoints" in args:
        args[args.index("--endpoints") + 1] = path
    else:
        args += ["--endpoints", path]
    return args


def wait_for_model_server(environ: Mapping[str, str], clock: Any = None) -> bool:
    """Wait (up to `MODEL_SERVER_WAIT_SECONDS`) until the model server has a model to give, so the
    replica's first pull loads one; False when it never did (Rasa then pulls again later)."""
    import time
    import urllib.error
    import urllib.parse
    import urllib.request

    section = models_section(environ)
    if not section:
        return True
    clock = clock or time
    deadline = clock.monotonic() + int(environ.get(WAIT_SECONDS_ENV, "") or DEFAULT_WAIT_SECONDS)
    query = urllib.parse.urlencode({"token": section["token"]})
    request = urllib.request.Request(f"{section['url']}?{query}", method="HEAD")  # noqa: S310 (http(s), checked)
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5):  # noqa: S310 (an http(s) URL, checked above)
                return True
        except (urllib.error.URLError, OSError):
            pass
        if clock.monotonic() >= deadline:
            return False
        clock.sleep(2)


def main() -> None:
    try:
        sys.argv = with_model_server(rasa_argv(sys.argv[1:], os.environ), os.environ)
    except (LaunchError, OSError) as exc:
        sys.exit(f"rasa_auth.launch: {exc}")
    if not wait_for_model_server(os.environ):
        print("rasa_auth.launch: the model server has no model yet; Rasa pulls it again every "
              f"{models_section(os.environ)['wait_time_between_pulls']} s", file=sys.stderr)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
