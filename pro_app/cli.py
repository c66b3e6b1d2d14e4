"""The ``pro-app`` console script: Flask's CLI with pro-app's commands."""

from flask.cli import FlaskGroup

from . import create_app

cli = FlaskGroup(create_app=create_app, help="pro-app: patient-reported outcome follow-up.")
