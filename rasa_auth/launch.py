"""Start the Rasa server with its token from the environment, never from the command line.

    RASA_TOKEN=... python -m rasa_auth.launch run --enable-api --port 5005 ...

`rasa run --auth-token <token>` puts the token in the process's arguments, which `ps` shows every
user of the machine. This runs Rasa's command line in this process with `--auth-token` added to
`sys.argv` only: the arguments the operating system shows are the ones given above.
"""
from __future__ import annotations

import os
import sys
from typing import List, Mapping, Sequence

TOKEN_ENV = "RASA_TOKEN"  # noqa: S105 (the variable's name)


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


def main() -> None:
    try:
        sys.argv = rasa_argv(sys.argv[1:], os.environ)
    except LaunchError as exc:
        sys.exit(f"rasa_auth.launch: {exc}")
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
