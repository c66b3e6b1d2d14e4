"""``gen_*``-style factories that build test data through the real services."""

import itertools
from datetime import date, datetime

from sqlalchemy.engine import Engine

from pro_app.accounts.users import create_user
from pro_app.enrolment import Enrolled, enrol
from pro_app.models import Site, User, utcnow
from pro_app.storage.engine import session_scope

_counter = itertools.count(1)


class Factory:
    PASSWORD = "correct horse battery"

    def __init__(self, engine: Engine):
        self.engine = engine

    def site(self, **fields) -> Site:
        n = next(_counter)
        values = {"code": f"SITE{n}", "name": f"Spine team {n}", "team_phone": "0113 496 0000"}
        values.update(fields)
        with session_scope(self.engine) as session:
            site = Site(**values)
            session.add(site)
        return site

    def user(self, site: Site | None = None, role: str = "nurse", **fields) -> User:
        n = next(_counter)
        with session_scope(self.engine) as session:
            return create_user(
                session,
                email=fields.get("email", f"user{n}@example.test"),
                name=fields.get("name", f"User {n}"),
                password=fields.get("password", self.PASSWORD),
                role=role,
                site_code=site.code if site else None,
            )

    def patient_data(self, **fields) -> dict:
        n = next(_counter)
        data = {
            "study_id": f"P{n:05d}",
            "first_name": "Alex",
            "phone": f"07400 1{n % 100000:05d}",
            "timezone": "Europe/London",
            "language": "en",
            "consent": True,
            "channel": "link",
            "procedure_date": date(2027, 1, 11),
            "augmentation": "kyphoplasty",
            "levels": "T12",
            "lesion_type": "lytic",
            "electrode": "bipolar",
        }
        data.update(fields)
        return data

    def patient(self, site: Site, now: datetime | None = None, **fields) -> Enrolled:
        """Enrol a patient at ``now``, or at the test's pinned clock (tests/conftest.py)."""
        with session_scope(self.engine) as session:
            site = session.get(Site, site.id)
            return enrol(
                session, site, self.patient_data(**fields), user_id=None, now=now or utcnow()
            )
