"""Channels that send nothing: the development outbox and a no-op for benchmarks."""

from __future__ import annotations

import secrets
from datetime import datetime

from .channel import OutgoingSms, SendReceipt


class DevOutboxChannel:
    """The default channel outside production.

    The message row already lives in the app's database (where a dev page shows it),
    so "sending" only hands back a synthetic SID (`DEV` + 32 hex digits) marked delivered.
    """

    def send(self, message: OutgoingSms) -> SendReceipt:
        return SendReceipt(provider_sid="DEV" + secrets.token_hex(16), status="delivered")

    def find_sent(self, to: str, since: datetime, body: str | None = None) -> list[SendReceipt]:
        """Nothing leaves this process, so nothing can have been sent unseen."""
        return []


class NullChannel:
    """Accepts every message and does nothing, for benchmarks."""

    def send(self, message: OutgoingSms) -> SendReceipt:
        return SendReceipt(provider_sid="NULL" + secrets.token_hex(16), status="delivered")
