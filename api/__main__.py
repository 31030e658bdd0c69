"""`python -m api`: run the gateway with uvicorn on GATEWAY_HOST:GATEWAY_PORT."""
from __future__ import annotations

import logging

import uvicorn

from api.main import create_app
from api.settings import get_settings


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and Bot API URLs contain the bot token.
    for noisy in ("httpx", "httpcore", "telegram", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    uvicorn.run(create_app(settings), host=settings.gateway_host, port=settings.gateway_port,
                log_level="info", access_log=False, proxy_headers=True,
                forwarded_allow_ips=settings.forwarded_allow_ips)


if __name__ == "__main__":
    main()
