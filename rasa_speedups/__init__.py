"""Speed patches for the Rasa server (measured with a sampling profiler; see docs/architecture.md).

Nothing is patched on import: `install()` applies every patch, and the NLG generator named in
endpoints.yml (rasa_nlg.fallback.FallbackCallbackNLG) calls it when the Rasa server builds it at
start-up, the one place where our code runs inside the server before it answers anything.
"""
from __future__ import annotations

from rasa_speedups import action_result_check


def install() -> None:
    """Apply every patch (idempotent)."""
    action_result_check.install()
