"""Template filters for times on staff pages, in the signed-in user's site zone.

``{{ alert.created_at|local_time }}`` shows "2 Dec 2026, 23:30 GMT" in the zone of the
nurse's site; staff who work across sites (auditors, admins) see the default zone unless a
template passes the row's own zone: ``{{ a.created_at|local_time(site.timezone) }}``.
"""

from flask import Flask, g
from flask_login import current_user

from .. import local_time as times
from ..models import Site
from ..storage import database


def staff_zone() -> str:
    """The zone of the signed-in user's site, looked up once per request."""
    if "staff_zone" not in g:
        name = None
        site_id = getattr(current_user, "site_id", None)
        if site_id is not None:
            site = database.session().get(Site, site_id)
            name = site.timezone if site else None
        g.staff_zone = times.zone(name).key
    return g.staff_zone


def _local_time(moment, zone_name: str | None = None) -> str:
    return times.local_time(moment, zone_name or staff_zone())


def _local_clock(moment, zone_name: str | None = None) -> str:
    return times.local_time(moment, zone_name or staff_zone(), with_date=False)


def _local_date(day, zone_name: str | None = None) -> str:
    return times.local_date(day, zone_name or staff_zone())


def init_app(app: Flask) -> None:
    app.add_template_filter(_local_time, "local_time")
    app.add_template_filter(_local_clock, "local_clock")
    app.add_template_filter(_local_date, "local_date")
    app.jinja_env.globals["staff_zone"] = staff_zone
