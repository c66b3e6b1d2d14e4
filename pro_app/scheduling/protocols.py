"""The scheduler's view of a protocol: timepoints with their windows and instruments."""

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class TimepointPlan:
    id: str
    offset_days: int
    days_before: int
    days_after: int
    instruments: tuple[str, ...]
    reminder_hours: tuple[int, ...]
    is_baseline: bool = False


@lru_cache(maxsize=16)
def timepoints_for(protocol_id: str) -> tuple[TimepointPlan, ...]:
    """The timepoints of a protocol, loaded and validated by ``surveys``."""
    from surveys import load_protocol

    protocol = load_protocol(protocol_id)
    return tuple(_plan(tp) for tp in protocol.timepoints)


def load_all() -> int:
    """Load and validate every available protocol and instrument now, so that the first
    busy pass of a long-running process does not pay for reading them; returns how many
    protocols."""
    from surveys import all_instruments
    from surveys.protocol import available_protocols

    all_instruments()
    names = list(available_protocols())
    for name in names:
        timepoints_for(name)
    return len(names)


def _plan(tp) -> TimepointPlan:
    return TimepointPlan(
        id=tp.id,
        offset_days=tp.offset_days,
        days_before=tp.days_before,
        days_after=tp.days_after,
        instruments=tuple(tp.instruments),
        reminder_hours=tuple(tp.reminder_hours),
        is_baseline=tp.is_baseline,
    )
