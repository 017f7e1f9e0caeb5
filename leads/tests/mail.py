"""Email backends for the notification tests: one whose server refuses every message, one that cannot connect."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend

REFUSED = "550 mailbox unavailable"


class RefusingBackend(BaseEmailBackend):
    """Connects, then refuses every message as an SMTP server would (SMTPException)."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused({m.to[0]: (550, REFUSED.encode()) for m in email_messages})


class UnreachableBackend(BaseEmailBackend):
    """The server does not answer: opening the connection fails."""

    def open(self):
        raise ConnectionRefusedError(111, "Connection refused")

    def send_messages(self, email_messages):
        self.open()
