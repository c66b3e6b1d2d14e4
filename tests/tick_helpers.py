"""Helpers for the app's tests: a tick at a chosen time, channels that misbehave, queries."""

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlmodel import Session, select

from notifications import (
    DevOutboxChannel,
    OutgoingSms,
    SendReceipt,
    TransientSendError,
)
from pro_app.messaging.outbox import LinkContext
from pro_app.models import Message, SurveyInstance
from pro_app.scheduling.tick import TickReport, run_tick

SECRET = "test-secret"
LINKS = LinkContext(secret_key=SECRET, base_url="https://pro.example.test")


class RecordingChannel:
    """Accepts every message and remembers it, like a phone network that never fails."""

    def __init__(self):
        self.sent: list[OutgoingSms] = []

    def send(self, message: OutgoingSms) -> SendReceipt:
        self.sent.append(message)
        return SendReceipt(provider_sid=f"SM{len(self.sent):032d}", status="queued")

    def find_sent(self, to, since, body=None):
        return [
            SendReceipt(provider_sid=f"SM{n + 1:032d}", status="sent")
            for n, m in enumerate(self.sent)
            if m.to == to and (body is None or m.body == body)
        ]


class FlakyChannel(RecordingChannel):
    """Fails with a transient error until ``healthy`` is set."""

    def __init__(self):
        super().__init__()
        self.healthy = False
        self.refused = 0

    def send(self, message: OutgoingSms) -> SendReceipt:
        if not self.healthy:
            self.refused += 1
            raise TransientSendError("503 from provider", status=503)
        return super().send(message)


@pytest.fixture
def tick(engine) -> Callable[..., TickReport]:
    def run(now: datetime, channel=None) -> TickReport:
        return run_tick(engine, channel or DevOutboxChannel(), LINKS, now=now, worker="test")

    return run


def messages(engine, **filters) -> list[Message]:
    with Session(engine) as session:
        statement = select(Message).order_by(Message.id)
        for name, value in filters.items():
            statement = statement.where(getattr(Message, name) == value)
        return list(session.exec(statement))


def instances(engine, patient_id: int | None = None) -> list[SurveyInstance]:
    with Session(engine) as session:
        statement = select(SurveyInstance).order_by(SurveyInstance.due_at)
        if patient_id is not None:
            statement = statement.where(SurveyInstance.patient_id == patient_id)
        return list(session.exec(statement))
