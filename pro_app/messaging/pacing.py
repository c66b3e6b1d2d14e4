"""How fast texts are handed to the provider: a rate shared by every sender thread.

The provider queues what it is given at the sender's own rate (message segments a
second: a UK number or sender ID about 10, a US long code 1, a short code 100 or
more). Handing texts over faster only moves the queue from the outbox, where a STOP, a
stopped follow-up or a closed survey still cancels a text, to the provider's, where
nothing does. ``SendRate`` paces a process's senders to the configured rate.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


class SendRate:
    """Send slots at ``per_second`` segments a second, shared by the threads of a process.

    Each send reserves the next free slot (a text of three segments takes three slots'
    time), so in any window of ``w`` seconds at most ``per_second * w`` segments start,
    plus the one text in progress at the window's edge. ``clock`` (seconds, monotonic) and
    ``sleep`` are injectable so that tests control time.
    """

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError("a send rate must be above 0")
        self.per_second = per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_free = float("-inf")

    def acquire(self, segments: int = 1, within: float | None = None) -> bool:
        """Wait for a slot for a text of ``segments``; False, at once, if none comes in time.

        ``within`` is how many seconds the caller has left (its budget or lease running
        out). A slot is only reserved if it starts before that time is up.
        """
        with self._lock:
            now = self._clock()
            start = max(now, self._next_free)
            if within is not None and start - now >= within:
                return False
            self._next_free = start + max(segments, 1) / self.per_second
        if start > now:
            self._sleep(start - now)
        return True


@dataclass(frozen=True)
class SenderPool:
    """How many texts a process hands over at once, and at what rate at most.

    ``concurrency`` sender threads each claim and settle their own batches under their
    own fenced claims; ``rate`` (None: unpaced) is shared by all of them.
    """

    concurrency: int = 1
    rate: SendRate | None = None

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("a sender pool needs at least one sender")
