"""The ``pro-app`` console script: Flask's CLI with pro-app's commands."""

import click
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo
from sqlalchemy.exc import DBAPIError

from . import create_app
from .config import ConfigError


class ProAppGroup(FlaskGroup):
    """Flask's group, turning a database that is missing or not migrated into one sentence."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DBAPIError:
            problem = _schema_problem(ctx)
            if problem is None:
                raise
            raise click.ClickException(problem) from None


def _schema_problem(ctx: click.Context) -> str | None:
    from .storage.migrate import schema_problem

    app = ctx.ensure_object(ScriptInfo).load_app()
    return schema_problem(app.extensions["pro_engine"])


def _create_app() -> Flask:
    """The app, or the configuration problem in one sentence."""
    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


cli = ProAppGroup(create_app=_create_app, help="pro-app: patient-reported outcome follow-up.")
