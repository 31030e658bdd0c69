"""Answering the child when the database cannot be reached after Rasa replied.

The turn is retried until it is stored (case included); meanwhile the child must not wait: the bot's
safe reply and, for a disclosure, the 111 message go straight to the channel. A retry may repeat them;
a repeated safe message is better than silence.
"""
from __future__ import annotations

import logging
from typing import Any

from api.messaging.risk import Risk
from api.messaging.senders import ChannelRegistry, split_payload_for_channel

log = logging.getLogger(__name__)

STORAGE_DOWN_TEXT = (
    "Mình đã nghe điều bạn kể. Tư vấn viên sẽ trả lời bạn sớm nhất có thể. "
    "Nếu bạn cần giúp ngay, hãy gọi 111 bây giờ nhé: miễn phí, cả ngày lẫn đêm. "
    "Nếu bạn đang gặp nguy hiểm, hãy gọi 113."
)


class StorageDownReplier:
    def __init__(self, channels: ChannelRegistry) -> None:
        self.channels = channels

    async def __call__(self, channel: str, platform_user_id: str, replies: list[dict[str, Any]],
                       risk: Any) -> None:
        sender = self.channels.get(channel)
        if sender is None:
            return
        payloads = list(replies)
        if (risk or Risk()).needs_counselor:
            payloads.append({"text": STORAGE_DOWN_TEXT})
        try:
            for payload in payloads:
                for part in split_payload_for_channel(channel, payload):
                    await sender.send(platform_user_id, part)
        except Exception as exc:  # best effort: the retried turn delivers through the outbox later
            log.warning("direct reply while storage is down failed: %s", type(exc).__name__)
