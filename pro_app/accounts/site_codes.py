"""A site's code: short, safe in file names and rows, and unique whatever its capitals
("rfa9" and "RFA9" would be the same site to a reader of an export)."""

import re

from sqlalchemy import func
from sqlmodel import Session, select

from ..models import Site

SITE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
SITE_CODE_RULE = "Use letters, digits, - and _ only (up to 32): the code names files and rows."


def check_site_code(raw: str) -> str:
    """The code without surrounding spaces; ValueError if it breaks the rule."""
    code = (raw or "").strip()
    if not SITE_CODE.fullmatch(code):
        raise ValueError(SITE_CODE_RULE)
    return code


def site_with_code(session: Session, code: str) -> Site | None:
    """The site whose code is ``code`` in any capitals."""
    return session.exec(select(Site).where(func.lower(Site.code) == code.lower())).first()
