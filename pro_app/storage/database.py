"""The running app's database: one engine per app, one session per request."""

from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlmodel import Session

from .engine import make_engine


def init_app(app: Flask, url: str, *, connections: int = 5) -> None:
    """One engine for the app, keeping up to ``connections`` open (at least 5)."""
    engine = app.config.get("ENGINE") or make_engine(url, pool_size=max(5, connections))
    app.extensions["pro_engine"] = engine
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["pro_engine"]


def session() -> Session:
    """The request's session, created on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = Session(engine(), expire_on_commit=False)
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()
