"""How far an export has got, counted in questionnaire answers read."""

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

Item = TypeVar("Item")
REPORT_EVERY = 1000


class Progress:
    """Counts the answers an export reads and calls ``report(count)`` every ``every`` of
    them and once at the end (a background job records it, and renews its lease)."""

    def __init__(self, report: Callable[[int], None], every: int = REPORT_EVERY):
        self.report = report
        self.every = every
        self.count = 0

    def counted(self, items: Iterable[Item]) -> Iterator[Item]:
        every, report = self.every, self.report
        count = self.count
        for item in items:
            yield item
            count += 1
            if count % every == 0:
                self.count = count
                report(count)
        self.count = count
        report(count)


def counted(items: Iterable[Item], progress: Progress | None) -> Iterable[Item]:
    """``items``, counted by ``progress`` if there is one."""
    return items if progress is None else progress.counted(items)
