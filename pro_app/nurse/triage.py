"""Open alerts in plain words for the patient list, and the order in which they need a nurse.

Urgency tiers, most urgent first: red flags to act on now, red flags within 24 hours (with
replies that may describe one but could not be read or matched to a patient), red flags
the site's own policy times, worsening (pain or opioids), then no reply and other contact
problems. Within a tier the alert most overdue (earliest ``due_by``) leads, then the
oldest.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import and_, case, or_

from surveys import get_instrument

from ..models import Alert, AlertKind

CALL_NOW, WITHIN_24H, SITE_POLICY, WORSENING, CONTACT = range(5)
NO_ALERT = 9  # sorts after every tier

WORSENING_KINDS = (AlertKind.PAIN_WORSE, AlertKind.OPIOID_UP)
# Replies that could not be read or matched: raised for 24 hours when they may describe a
# warning sign, and then listed with the 24-hour red flags.
UNREAD_KINDS = (AlertKind.UNREADABLE_REPLY, AlertKind.UNMATCHED_REPLY, AlertKind.WORDS_IN_REPLY)
RED_FLAG_URGENCY = {"now": "call now", "24h": "within 24 h"}
CONTACT_WORDS = {
    AlertKind.DELIVERY_FAILURE: "Text not delivered",
    AlertKind.NOT_SENT: "Text could not be sent",
    AlertKind.OPTED_OUT: "Texted STOP: phone instead",
    AlertKind.UNREADABLE_REPLY: "Text reply unreadable",
    AlertKind.WORDS_IN_REPLY: "Texted words: read them, call",
    AlertKind.UNMATCHED_REPLY: "Reply from a shared number: call",
}


def tier_expression(alert=Alert):
    """The urgency tier of an alert as SQL (of ``alert``, the table or an alias of it)."""
    red_flag = alert.kind == AlertKind.RED_FLAG
    unreadable_signs = and_(alert.kind.in_(UNREAD_KINDS), alert.urgency == "24h")
    return case(
        (and_(red_flag, alert.urgency == "now"), CALL_NOW),
        (or_(and_(red_flag, alert.urgency == "24h"), unreadable_signs), WITHIN_24H),
        (red_flag, SITE_POLICY),
        (alert.kind.in_(WORSENING_KINDS), WORSENING),
        else_=CONTACT,
    )


def tier_of(alert: Alert) -> int:
    """The same tier as ``tier_expression``, for an alert already loaded."""
    if alert.kind == AlertKind.RED_FLAG:
        return {"now": CALL_NOW, "24h": WITHIN_24H}.get(alert.urgency, SITE_POLICY)
    if alert.kind in UNREAD_KINDS and alert.urgency == "24h":
        return WITHIN_24H
    return WORSENING if alert.kind in WORSENING_KINDS else CONTACT


@dataclass
class AlertLine:
    """One line of a row's alert column: "Red flag, call now: new weakness … · 3 h"."""

    tier: int
    text: str
    raised_at: datetime
    due_by: datetime
    next_try_at: datetime | None = None

    def age(self, now: datetime) -> str:
        return duration(now - self.raised_at)

    def overdue(self, now: datetime) -> str | None:
        """How long past its target, or None when it is not yet due."""
        return duration(now - self.due_by) if self.due_by < now else None


def duration(span: timedelta) -> str:
    """A short span for a busy list: "25 min", "3 h", "2 d", "5 wk"."""
    minutes = max(int(span.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h"
    days = hours // 24
    return f"{days} d" if days < 14 else f"{days // 7} wk"


@cache
def _flag_names() -> dict[str, str]:
    """Red-flag item id -> the nurses' wording in the questionnaire's definition."""
    items = get_instrument("red_flags").items
    return {item.id: item.red_flag.summary for item in items if item.red_flag is not None}


def red_flag_name(alert: Alert) -> str:
    """The flag in plain words, from the item named in the alert's key (``red_flag:7:weakness``)."""
    item_id = alert.dedupe_key.rsplit(":", 1)[-1]
    name = _flag_names().get(item_id)
    if name is None:  # an item no longer defined: the words kept on the alert
        name = alert.summary.split(": ", 1)[-1].rstrip(".")
    return name[:1].lower() + name[1:]


def _signed(value: float) -> str:
    return f"{value:+g}"


@dataclass
class Outcomes:
    """What the page already knows of a patient to word a worsening alert."""

    baseline_worst: float | None = None
    baseline_omed: float | None = None
    worst_at: dict[int, float] | None = None  # instance id -> worst pain
    omed_at: dict[int, float] | None = None  # instance id -> mg/day
    missed_in_a_row: int = 0


def describe(alert: Alert, known: Outcomes) -> str:
    """The alert in a few plain words (its age and lateness are added by ``AlertLine``)."""
    if alert.kind == AlertKind.RED_FLAG:
        urgency = RED_FLAG_URGENCY.get(alert.urgency)
        return f"Red flag{', ' + urgency if urgency else ''}: {red_flag_name(alert)}"
    if alert.kind == AlertKind.PAIN_WORSE:
        worst = (known.worst_at or {}).get(alert.instance_id)
        if worst is not None and known.baseline_worst is not None:
            return f"Worst pain {_signed(worst - known.baseline_worst)} from baseline"
        return "Worst pain up from baseline"
    if alert.kind == AlertKind.OPIOID_UP:
        omed = (known.omed_at or {}).get(alert.instance_id)
        if omed is not None and known.baseline_omed:
            rise = round((omed - known.baseline_omed) / known.baseline_omed * 100)
            return f"Opioid use up {rise}% ({known.baseline_omed:g} → {omed:g} mg/day)"
        return "More pain medicine than at baseline"
    if alert.kind == AlertKind.NON_RESPONSE:
        return f"No reply ×{max(known.missed_in_a_row, 2)}"
    if alert.kind == AlertKind.UNREADABLE_REPLY and alert.urgency == "24h":
        return "Text reply unreadable, may describe a warning sign: read, call"
    return CONTACT_WORDS.get(alert.kind, alert.summary)


def alert_lines(alerts: list[Alert], known: Outcomes) -> list[AlertLine]:
    """A patient's open alerts as lines, most urgent first; repeated no-reply alerts once."""
    lines: list[AlertLine] = []
    no_reply: AlertLine | None = None
    for alert in sorted(alerts, key=lambda a: (tier_of(a), a.due_by, a.created_at)):
        line = AlertLine(
            tier=tier_of(alert),
            text=describe(alert, known),
            raised_at=alert.created_at,
            due_by=alert.due_by,
            # kept open by "could not reach: try again" where that is recorded
            next_try_at=getattr(alert, "next_try_at", None),
        )
        if alert.kind == AlertKind.NON_RESPONSE:
            if no_reply is not None:  # already listed from its most overdue alert
                continue
            no_reply = line
        lines.append(line)
    return lines
