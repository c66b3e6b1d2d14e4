"""Build the audit report for a set of filters, and who may see which sites."""

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from ..models import Patient, Procedure, Role, SafetyEvent, Site, User
from .alert_handling import alert_handling
from .outcomes import AuditReport, OutcomeAccumulator
from .timelines import AuditFilters, apply_filters, timelines

AUDIT_ROLES = (Role.AUDITOR, Role.ADMIN)


def scoped(user: User, filters: AuditFilters) -> AuditFilters:
    """Filters limited to what ``user`` may see: a site's staff see only their site."""
    if user.site_id is not None and filters.site_id != user.site_id:
        return AuditFilters(**{**filters.__dict__, "site_id": user.site_id})
    return filters


def build_report(session: Session, filters: AuditFilters, now: datetime) -> AuditReport:
    """The outcomes of every covered procedure, read as a stream."""
    accumulator = OutcomeAccumulator(now)
    for timeline in timelines(session, filters, now):
        accumulator.add(timeline)
    events = session.exec(
        apply_filters(
            select(SafetyEvent.procedure_id, SafetyEvent.kind, SafetyEvent.grade)
            .join(Procedure, Procedure.id == SafetyEvent.procedure_id)
            .join(Patient, Patient.id == Procedure.patient_id)
            .where(SafetyEvent.withdrawn_at.is_(None)),  # not those recorded in error
            filters,
        )
    ).all()
    report = accumulator.report(events)
    report.alert_handling = alert_handling(session, filters, now)
    report.min_count = minimum_cell_count(session, filters)
    return report


def minimum_cell_count(session: Session, filters: AuditFilters) -> int:
    """The strictest small-cell threshold of the sites an export covers."""
    statement = select(func.max(Site.min_cell_count))
    if filters.site_id is not None:
        statement = statement.where(Site.id == filters.site_id)
    return session.exec(statement).one() or 0
