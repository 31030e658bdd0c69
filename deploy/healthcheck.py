"""Container health check (standard library only): exit 0 when one of the URLs answers 200.

HEALTHCHECK_URL (comma-separated) overrides the defaults: Rasa's / (answers once the model is
loaded), the action server's /health and the gateway's /health/ready.
"""
from __future__ import annotations

import os
import sys
import urllib.request

DEFAULTS = "http://127.0.0.1:5005/,http://127.0.0.1:5055/health,http://127.0.0.1:8000/health/ready"


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 (our own loopback URL)
            return response.status == 200
    except OSError:
        return False


def main() -> int:
    urls = [u.strip() for u in os.environ.get("HEALTHCHECK_URL", DEFAULTS).split(",") if u.strip()]
    return 0 if any(healthy(url) for url in urls) else 1


if __name__ == "__main__":
    sys.exit(main())
