"""Referral e-mails through the SMTP server of the settings (standard library, in a worker thread)."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from api.settings import Settings

SMTP_TIMEOUT_SECONDS = 20.0


def smtp_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host and settings.smtp_from)


def build_message(settings: Settings, to: str, subject: str, lines: list[tuple[str, str]]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    body = [f"{label}: {value}" for label, value in lines]
    body += ["", "Thư này gửi từ đường dây tư vấn bảo vệ trẻ em. Xin giữ bí mật thông tin của trẻ.",
             "Tổng đài quốc gia bảo vệ trẻ em: 111 (miễn phí, 24/7)."]
    message.set_content("\n".join(body))
    return message


def send_message(settings: Settings, message: EmailMessage) -> None:
    """Blocking: call with asyncio.to_thread. Raises OSError / smtplib.SMTPException on failure."""
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(message)
