"""What the gateway says to a child by itself, not through Rasa: the welcome and privacy notice, the
answer to a photo or sticker, the fallback while Rasa is down (and, in api/cases, the handoff notices
and the check-in).

Each is a response of the content system, named as in domain.yml and edited in the content console;
the wording here is its default, sent when the content store has no live version of it or cannot be
read. The content feature installs the renderer (`UserTexts.install`): this layer only knows the
contract, the content packages sit above it.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from api.db.after_commit import savepoint

log = logging.getLogger(__name__)

_HOTLINE_RE = re.compile(r"(?<!\d)111(?!\d)")

# (session, response name, channel) -> the live response rendered ({"text", "buttons"}) or None.
LiveRenderer = Callable[[Session, str, str | None], dict[str, Any] | None]


@dataclass(frozen=True)
class UserText:
    name: str  # the response in domain.yml and the content console
    default: str  # the shipped wording: domain.yml's first variation says the same


SERVICE_UNAVAILABLE = UserText(
    "utter_service_unavailable",
    "Mình đang gặp trục trặc một chút. Nếu bạn cần giúp ngay, hãy gọi 111: miễn phí, cả ngày lẫn đêm.",
)
WELCOME = UserText(
    "utter_welcome",
    "Chào bạn! 👋 Mình là Trợ lý Bảo vệ trẻ em, một chatbot (máy trả lời tự động) của chương trình "
    "bảo vệ trẻ em. Mình chỉ bạn cách giữ an toàn và lắng nghe khi bạn lo lắng.\n\n"
    "🔒 Riêng tư: bạn không cần nói tên thật. Khi bạn kể chuyện nguy hiểm, tư vấn viên (người thật) sẽ đọc để giúp "
    "bạn, và có thể báo cho 111 hoặc công an để giữ bạn an toàn.\n\n"
    "Cần người giúp ngay? Gọi 111: miễn phí, cả ngày lẫn đêm.",
)
NON_TEXT = UserText(
    "utter_non_text",
    "Mình chỉ đọc được chữ, không xem được ảnh, nhãn dán hay tin nhắn thoại, và mình không giữ chúng. "
    "Bạn nhắn bằng chữ cho mình nhé. Nếu có ai ép bạn gửi ảnh, đó không phải lỗi của bạn: gọi 111 để được giúp.",
)


class UserTexts:
    """Renders a UserText from the live content, else its default (the app context's `user_texts`)."""

    def __init__(self) -> None:
        self._renderer: LiveRenderer | None = None

    def install(self, renderer: LiveRenderer) -> None:
        self._renderer = renderer

    def render(self, session: Session, text: UserText, channel: str | None) -> dict[str, Any]:
        """The reply payload for `text` on `channel`, inside the caller's transaction."""
        live = self._live(session, text, channel)
        if live is None:
            return {"text": text.default}
        # The content console already refuses a safety-critical edit without 111; a text that names
        # 111 by default never goes out without it, whatever the store holds.
        if _HOTLINE_RE.search(text.default) and not _HOTLINE_RE.search(live.get("text") or ""):
            log.warning("live %s lacks 111: sending its default", text.name)
            return {"text": text.default}
        return live

    def _live(self, session: Session, text: UserText, channel: str | None) -> dict[str, Any] | None:
        if self._renderer is None:
            return None
        try:
            # A failed read is rolled back to here and the transaction goes on with the default.
            with savepoint(session):
                live = self._renderer(session, text.name, channel)
        except Exception as exc:
            log.warning("live %s unavailable (%s): sending its default", text.name, type(exc).__name__)
            return None
        if not live or not (live.get("text") or "").strip():
            return None
        return {key: value for key, value in live.items() if key in ("text", "buttons") and value}
