"""One scheduling pass: ``run_tick(now)`` expires, invites, reminds and delivers.

APScheduler only calls this once a minute; what is due is read from the database, so
any number of tick processes may run at once without doing the same work twice.
"""

import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from flask import Flask
from sqlalchemy.engine import Engine

from notifications import Channel

from ..messaging.channels import build_channel, link_context, sender_pool
from ..messaging.failures import (
    record_delivery_failure,
    record_not_sent,
    report_unreported_failures,
)
from ..messaging.outbox import (
    Clock,
    DeliveryReport,
    DeliveryTiming,
    LinkContext,
    deliver,
    pass_clock,
)
from ..messaging.pacing import SenderPool
from ..messaging.timing import SendPolicy
from ..models import Message, utcnow
from ..storage.engine import session_scope
from .invitations import expire_closed, invite_due, remind_due
from .protocols import load_all


@dataclass
class TickReport:
    expired: int = 0
    non_response_alerts: int = 0
    invited: int = 0
    reminded: int = 0
    delivery: DeliveryReport | None = None
    failures_reported_late: int = 0  # failed for good with no alert (its process stopped)

    def as_dict(self) -> dict:
        return asdict(self)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_tick(
    engine: Engine,
    channel: Channel,
    links: LinkContext,
    *,
    now: datetime | None = None,
    worker: str | None = None,
    policy: SendPolicy | None = None,
    timing: DeliveryTiming | None = None,
    clock: Clock | None = None,
    senders: SenderPool | None = None,
) -> TickReport:
    """Do everything that is due at ``now`` (default: the current time).

    Each stage has a time budget, so a pass always returns, whatever the backlog: what
    is left is taken up by the next pass. ``clock`` gives the time during the pass
    (default: ``now`` moved on by the elapsed time). ``senders`` sets how many texts go
    at once and at what rate (default: one at a time, unpaced).
    """
    now = now or utcnow()
    worker = worker or worker_name()
    policy = policy or SendPolicy.from_env()
    timing = timing or DeliveryTiming()
    clock = clock or pass_clock(now)
    report = TickReport()
    report.expired, report.non_response_alerts = expire_closed(engine, now, clock=clock)
    report.invited = invite_due(
        engine, now, secret_key=links.secret_key, worker=worker, clock=clock
    )
    report.reminded = remind_due(engine, now, clock=clock)
    with session_scope(engine) as session:
        report.failures_reported_late = report_unreported_failures(session, now)
    report.delivery = deliver(
        engine,
        channel,
        links,
        worker=worker,
        now=clock(),
        policy=policy,
        timing=timing,
        clock=clock,
        senders=senders,
        on_failure=lambda message_id, code, reason, at, exhausted: record_failure(
            engine, message_id, code, reason, at, exhausted=exhausted
        ),
    )
    return report


def record_failure(
    engine: Engine,
    message_id: int,
    code: int | None,
    reason: str,
    now: datetime,
    *,
    exhausted: bool,
) -> None:
    """Alert about a text that failed for good: refused by the provider, or out of retries."""
    with session_scope(engine) as session:
        message = session.get(Message, message_id)
        if exhausted:
            record_not_sent(session, message, reason=reason, now=now)
        else:
            record_delivery_failure(session, message, code=code, reason=reason, now=now)


def tick_for_app(app: Flask, now: datetime | None = None) -> Callable[[], TickReport]:
    """A tick bound to ``app``'s engine, SMS channel, link and sending settings (CLI,
    clock, demo). Every pass of the returned tick shares one send rate; protocols and
    instruments are loaded here, once, not by the first pass with work to do."""
    settings = app.extensions["pro_settings"]
    channel = build_channel(settings)
    links = link_context(settings)
    engine = app.extensions["pro_engine"]
    senders = sender_pool(settings)
    load_all()
    return lambda: run_tick(engine, channel, links, now=now, senders=senders)
