"""Personal survey links.

A link's token is derived from the app's secret key, the instance id and a version
number, and only its SHA-256 hash is stored. So a copy of the database (or of the
outbox, whose bodies keep a ``{link}`` placeholder) opens no survey; the token is
rebuilt only when a text is handed to the channel. Bumping the version revokes a link.
"""

import base64
import hashlib
import hmac
import re

from notifications.tokens import hash_token

LINK_PLACEHOLDER = "{link}"
_TOKEN_BYTES = 24  # 192 bits
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")  # unpadded URL-safe base64 of 24 bytes


def survey_token(secret_key: str, instance_id: int, version: int) -> str:
    digest = hmac.new(
        secret_key.encode(), f"survey-link:{instance_id}:{version}".encode(), hashlib.sha256
    ).digest()[:_TOKEN_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def is_token_shaped(token: str) -> bool:
    """Whether ``token`` could be a survey token at all (anything else needs no lookup)."""
    return _TOKEN_SHAPE.fullmatch(token) is not None


def token_hash_for(secret_key: str, instance_id: int, version: int) -> str:
    return hash_token(survey_token(secret_key, instance_id, version))


def survey_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/s/{token}"


def render_body(body: str, *, secret_key: str, base_url: str, instance) -> str:
    """Put the instance's current link into a stored body."""
    if LINK_PLACEHOLDER not in body or instance is None:
        return body
    token = survey_token(secret_key, instance.id, instance.link_version)
    return body.replace(LINK_PLACEHOLDER, survey_url(base_url, token))


def redact_body(body: str) -> str:
    """A stored body as staff see it: the link stays hidden."""
    return body.replace(LINK_PLACEHOLDER, "[survey link]")
