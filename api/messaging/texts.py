"""What the gateway says to a child by itself, not through Rasa: the welcome and privacy notice, the
answer to a photo or sticker, the fallback while Rasa is down (and, in api/cases, the handoff notices
and the check-in).

Each is a response of the content system, edited in the content console; the wording here is its
default, sent when the content store has no live version of it or cannot be read. A text Rasa may
also say is in domain.yml too (its first variation says the same); one only the gateway says lives
here alone, and the content feature seeds it from `catalog()`. A default may hold `{placeholders}`
filled at send time (a quiz's title, a count); unknown ones stay as written. The content feature
installs the renderer (`UserTexts.install`): this layer only knows the contract, the content
packages sit above it.
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
_PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")
# Every UserText defined, by name: what the content feature seeds. Filled at import, read-only after.
_CATALOG: dict[str, UserText] = {}

# (session, response name, channel) -> the live response rendered ({"text", "buttons"}) or None.
LiveRenderer = Callable[[Session, str, str | None], dict[str, Any] | None]


@dataclass(frozen=True)
class UserText:
    name: str  # the response in domain.yml and the content console
    default: str  # the shipped wording (when the name is in domain.yml too, its first variation)

    def __post_init__(self) -> None:
        known = _CATALOG.setdefault(self.name, self)
        if known.default != self.default:
            raise ValueError(f"two gateway texts named {self.name}")


def catalog() -> list[UserText]:
    """Every gateway text defined by the modules imported so far (the app imports them all)."""
    return list(_CATALOG.values())


def fill(text: str, values: dict[str, Any]) -> str:
    """Replace {name} with its value; an unknown name stays as written (as Rasa does with slots)."""
    def substitute(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return match.group(0) if value is None else str(value)

    return _PLACEHOLDER_RE.sub(substitute, text)


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

    def render(self, session: Session, text: UserText, channel: str | None,
               values: dict[str, Any] | None = None) -> dict[str, Any]:
        """The reply payload for `text` on `channel` with its placeholders filled from `values`,
        inside the caller's transaction."""
        values = values or {}
        default = {"text": fill(text.default, values)}
        live = self._live(session, text, channel)
        if live is None:
            return default
        # The content console already refuses a safety-critical edit without 111; a text that names
        # 111 by default never goes out without it, whatever the store holds.
        if _HOTLINE_RE.search(text.default) and not _HOTLINE_RE.search(live.get("text") or ""):
            log.warning("live %s lacks 111: sending its default", text.name)
            return default
        live["text"] = fill(live["text"], values)
        if live.get("buttons"):
            live["buttons"] = [{**button, "title": fill(button["title"], values)} for button in live["buttons"]]
        return live

    def text(self, session: Session, text: UserText, channel: str | None = None,
             values: dict[str, Any] | None = None) -> str:
        """Only the words of `text` (for a line inside a longer message)."""
        return str(self.render(session, text, channel, values)["text"])

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
