"""A tick process for the fault-injection suite: passes back to back until told to stop.

``python -m tests.messaging.fault_worker DATABASE_URL BASE MONO0 PROVIDER_URL STOP_FILE NAME
[THREADS]``

Its clock is ``BASE`` plus the monotonic time since ``MONO0`` (shared by every process
of the run, never the wall clock). It sends through the real Twilio SDK to the fake at
PROVIDER_URL, with short leases and backoff so that a run takes seconds, not hours, by
THREADS sender threads (default 1).
"""

import argparse
import time
from datetime import datetime, timedelta
from pathlib import Path

from notifications import TwilioSmsChannel
from pro_app.messaging.outbox import DeliveryTiming, LinkContext
from pro_app.messaging.pacing import SenderPool
from pro_app.messaging.timing import SendPolicy
from pro_app.scheduling.tick import run_tick
from pro_app.storage.engine import make_engine

ACCOUNT = "AC" + "f" * 32
CLIENT_TIMEOUT_S = 3.5
TIMING = DeliveryTiming(
    lease=timedelta(seconds=10),
    send_margin=timedelta(seconds=4),  # more than the client's timeout
    settle_after=timedelta(seconds=5),  # more than the fake's late acceptance
    budget_s=5,
    backoff_base_s=0.5,
    backoff_cap_s=3,
)
LINKS = LinkContext(
    secret_key="fault-secret",
    base_url="https://pro.example.test",
    status_callback_url="https://pro.example.test/sms/status",
)
# Quiet hours never apply: the run happens in one morning.
POLICY = SendPolicy()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("base")
    parser.add_argument("mono0", type=float)
    parser.add_argument("provider")
    parser.add_argument("stop", type=Path)
    parser.add_argument("name")
    parser.add_argument("threads", type=int, nargs="?", default=1)
    args = parser.parse_args()
    base = datetime.fromisoformat(args.base)

    def clock() -> datetime:
        return base + timedelta(seconds=time.monotonic() - args.mono0)

    engine = make_engine(args.url, pool_size=args.threads + 2)
    senders = SenderPool(args.threads)
    channel = TwilioSmsChannel(
        ACCOUNT,
        "token",
        from_number="+15005550006",
        base_url=args.provider,
        timeout=CLIENT_TIMEOUT_S,
    )
    while not args.stop.exists():
        run_tick(
            engine,
            channel,
            LINKS,
            now=clock(),
            worker=args.name,
            policy=POLICY,
            timing=TIMING,
            clock=clock,
            senders=senders,
        )
        time.sleep(0.05)


if __name__ == "__main__":
    main()
