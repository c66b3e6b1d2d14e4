"""A tick in its own process, for the concurrency and crash tests.

``python -m tests.scheduling.tick_worker DATABASE_URL NOW SENDLOG [--die-after N]`` runs one
pass at NOW, appending each text it hands over to SENDLOG. With ``--die-after N`` the
process dies right after the Nth text reached the "provider", before recording it.
"""

import argparse
import os
from datetime import datetime
from pathlib import Path

from notifications import OutgoingSms, SendReceipt
from pro_app.messaging.outbox import LinkContext
from pro_app.scheduling.tick import run_tick
from pro_app.storage.engine import make_engine

SECRET = "test-secret"


class LoggingChannel:
    """A provider stand-in whose record of sent texts is a file shared by processes."""

    def __init__(self, log: Path, die_after: int | None = None):
        self.log = log
        self.die_after = die_after
        self.count = 0

    def send(self, message: OutgoingSms) -> SendReceipt:
        with self.log.open("a") as handle:
            handle.write(f"{message.idempotency_key}\t{message.to}\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.count += 1
        if self.die_after is not None and self.count >= self.die_after:
            os._exit(17)  # the process dies before it can record the outcome
        return SendReceipt(provider_sid=f"SM{os.getpid()}x{self.count}", status="queued")

    def find_sent(self, to: str, since: datetime, body: str | None = None) -> list[SendReceipt]:
        if not self.log.exists():
            return []
        lines = [line.split("\t") for line in self.log.read_text().splitlines()]
        return [
            SendReceipt(provider_sid=f"SMfound{n}", status="sent")
            for n, (_key, number) in enumerate(lines)
            if number == to
        ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("now")
    parser.add_argument("log", type=Path)
    parser.add_argument("--die-after", type=int, default=None)
    parser.add_argument("--worker", default=f"worker-{os.getpid()}")
    args = parser.parse_args()
    engine = make_engine(args.url)
    links = LinkContext(secret_key=SECRET, base_url="https://pro.example.test")
    channel = LoggingChannel(args.log, args.die_after)
    run_tick(engine, channel, links, now=datetime.fromisoformat(args.now), worker=args.worker)


if __name__ == "__main__":
    main()
