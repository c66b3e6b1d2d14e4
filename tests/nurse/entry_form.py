"""Posting the phone-entry form as a browser does: with the answers it was opened on."""

import re

from flask.testing import FlaskClient

SEEN = re.compile(r'name="answers_seen" value="([^"]*)"')


def post_entry(client: FlaskClient, url: str, data: dict, **kwargs):
    """Open the entry form at ``url``, then send ``data`` with the form's ``answers_seen``."""
    seen = SEEN.search(client.get(url).text)
    assert seen is not None, "the entry form carries the answers it was opened on"
    return client.post(url, data={"answers_seen": seen.group(1), **data}, **kwargs)
