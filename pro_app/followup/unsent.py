"""A web survey answered in full but never sent, completed when its window closes.

By text a survey completes with its last answer. On the web the patient saves every page
and then presses "Send my answers" on the check page; one who stops at that page (the
pages were saved, after all) used to be counted as not answering: expired, a miss towards
the "no answer twice" alert, and no check for worsening pain or opioid use. When the
window closes, such a survey is completed instead, dated by its last answer, and checked
as any completed survey is; a survey with a question still open expires as before.
"""

from datetime import datetime

from sqlmodel import Session

from ..models import InstanceStatus, SurveyInstance
from .answer_saving import complete, lock_answers
from .conversation import is_baseline
from .survey_pages import first_unanswered, survey_pages


def complete_if_answered_in_full(
    session: Session, instance: SurveyInstance, *, now: datetime
) -> bool:
    """Complete ``instance`` if every question it asks has an answer; say whether it did."""
    if instance.status != InstanceStatus.IN_PROGRESS:
        return False
    current = lock_answers(session, instance)
    if not current or instance.status != InstanceStatus.IN_PROGRESS:
        return False
    pages = survey_pages(instance.instruments, baseline=is_baseline(instance, session))
    saved = {instrument_id: row.answers for instrument_id, row in current.items()}
    if first_unanswered(pages, saved) < len(pages):
        return False
    complete(session, instance, now=now)  # alerts are raised now, when they can be seen
    instance.completed_at = max(row.created_at for row in current.values())
    return True
