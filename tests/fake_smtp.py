"""A stand-in for smtplib.SMTP in services.channels.outbox: what would be sent is collected."""
from __future__ import annotations

from services.channels import outbox


def fake_smtp(monkeypatch) -> list:
    """Patch the outbox's SMTP client; returns the list that collects each sent EmailMessage."""
    sent = []

    class FakeSMTP:
        def __init__(self, *a, **kw):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, msg):
            sent.append(msg)

    monkeypatch.setattr(outbox.smtplib, "SMTP", FakeSMTP)
    return sent
