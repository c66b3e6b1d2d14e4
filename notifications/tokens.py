"""Survey link tokens: random, shown to the patient once, stored only as a hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 24  # 192 bits of randomness, 32 URL-safe characters


def new_token() -> tuple[str, str]:
    """A fresh `(token, token_hash)`: put the token in the link, store only the hash."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token.

    A fast hash is right here: the token is random and long, so there is nothing to
    guess, and a deterministic hash lets the app find the row by an indexed lookup.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_match(a: str, b: str) -> bool:
    """Compare two tokens or two hashes in constant time."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
