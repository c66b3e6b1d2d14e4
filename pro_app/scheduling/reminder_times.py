"""When a sent survey's reminders fall: the timepoint's reminder hours after its invitation,
within its window."""

from datetime import datetime, timedelta

from ..models import SurveyInstance
from .protocols import timepoints_for


def reminder_times(protocol_id: str, instance: SurveyInstance) -> list[datetime]:
    """Each reminder's time, in order (``reminders_sent`` indexes the next one)."""
    plan = {tp.id: tp for tp in timepoints_for(protocol_id)}.get(instance.timepoint)
    hours = plan.reminder_hours if plan else ()
    base = instance.invited_at
    return [
        base + timedelta(hours=h) for h in hours if base + timedelta(hours=h) < instance.closes_at
    ]


def resume_reminders(protocol_id: str, instance: SurveyInstance, now: datetime) -> None:
    """A sent survey open again (a pause ended, a date move reopened it): its next reminder
    is the first of its plan still ahead. None already sent goes again, and none whose
    time passed while it was closed goes late."""
    times = reminder_times(protocol_id, instance)
    ahead = next((k for k in range(instance.reminders_sent, len(times)) if times[k] > now), None)
    if ahead is not None:
        instance.reminders_sent = ahead
    instance.next_reminder_at = None if ahead is None else times[ahead]
