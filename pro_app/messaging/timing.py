"""Local-time rules for when a patient may be texted: send hour and quiet hours."""

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def _clock(value: str) -> time:
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes or 0))


@dataclass(frozen=True)
class SendPolicy:
    """When texts may go out, in the patient's own time zone."""

    send_at: time = time(10, 0)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)

    @classmethod
    def from_env(cls) -> "SendPolicy":
        return cls(
            send_at=_clock(os.environ.get("PRO_SEND_TIME", "10:00")),
            quiet_start=_clock(os.environ.get("PRO_QUIET_START", "21:00")),
            quiet_end=_clock(os.environ.get("PRO_QUIET_END", "08:00")),
        )

    def is_quiet(self, local: time) -> bool:
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= local < self.quiet_end
        return local >= self.quiet_start or local < self.quiet_end

    def next_allowed(self, at: datetime, zone: str) -> datetime:
        """``at`` itself if it is outside quiet hours locally, else the end of quiet hours."""
        tz = ZoneInfo(zone)
        local = at.astimezone(tz)
        if not self.is_quiet(local.time()):
            return at
        day = local.date()
        if local.time() >= self.quiet_end:
            day += timedelta(days=1)
        return local_moment(day, self.quiet_end, zone)

    def send_time_on(self, day: date, zone: str) -> datetime:
        """The configured send hour on a local calendar day, in UTC."""
        return self.next_allowed(local_moment(day, self.send_at, zone), zone)


def local_moment(day: date, clock: time, zone: str) -> datetime:
    """A local wall-clock moment as UTC.

    A time skipped by a spring-forward change lands after the gap (fold=0 uses the
    offset from before the change); a repeated autumn time is its first occurrence.
    """
    return datetime.combine(day, clock, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def local_midnight(day: date, zone: str) -> datetime:
    """The start of a local calendar day, in UTC."""
    return local_moment(day, time(0, 0), zone)
