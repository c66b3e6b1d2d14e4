"""Local-time rules for when a patient may be texted: send hour and quiet hours."""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


def parse_clock(value: str, name: str) -> time:
    """``HH:MM`` on a 24-hour clock, or ValueError naming the setting ``name``."""
    found = CLOCK.fullmatch(value.strip())
    if not found:
        raise ValueError(f"{name} must be a time of day as HH:MM (24-hour), not {value!r}.")
    return time(int(found[1]), int(found[2]))


@dataclass(frozen=True)
class SendPolicy:
    """When texts may go out, in the patient's own time zone."""

    send_at: time = time(10, 0)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SendPolicy":
        """The policy the environment sets, or ValueError saying which setting is wrong.

        The send time must fall outside quiet hours: one inside them would be put off to
        their end, the next morning for an evening time, so a survey due on its day (a
        one-day window) would miss it.
        """
        env = os.environ if env is None else env
        policy = cls(
            send_at=parse_clock(env.get("PRO_SEND_TIME", "10:00"), "PRO_SEND_TIME"),
            quiet_start=parse_clock(env.get("PRO_QUIET_START", "21:00"), "PRO_QUIET_START"),
            quiet_end=parse_clock(env.get("PRO_QUIET_END", "08:00"), "PRO_QUIET_END"),
        )
        if policy.is_quiet(policy.send_at):
            raise ValueError(
                f"PRO_SEND_TIME {policy.send_at:%H:%M} is inside quiet hours "
                f"({policy.quiet_start:%H:%M} to {policy.quiet_end:%H:%M}): choose a time "
                "outside them."
            )
        return policy

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
