"""Senders of notifications: the log, or SMTP."""

from __future__ import annotations

import re
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

import structlog

from app.orders.ports import SendFailed

log = structlog.get_logger("omnistock.notifications")

SIX_DIGITS = re.compile(r"\b\d{6}\b")


class LogSender:
    """Default: write the message to the log, for a first run or a system with no mail."""

    def send(self, to: str, subject: str, body: str) -> None:
        """Codes are masked: a log is read by more people than the customer it was for (an
        admin reads the message whole in GET /v1/notifications)."""
        log.info("notification", to=to, subject=subject, body=SIX_DIGITS.sub("******", body))


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(str(exc) or type(exc).__name__) from exc
