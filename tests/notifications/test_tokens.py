from __future__ import annotations

import re

from notifications import hash_token, new_token, tokens_match


def test_new_token_is_url_safe_and_long_enough() -> None:
    token, token_hash = new_token()
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)  # 24 random bytes = 192 bits
    assert token_hash == hash_token(token)


def test_tokens_are_unique() -> None:
    tokens = {new_token()[0] for _ in range(1000)}
    assert len(tokens) == 1000


def test_hash_is_sha256_hex() -> None:
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_tokens_match() -> None:
    token, token_hash = new_token()
    assert tokens_match(hash_token(token), token_hash)
    assert not tokens_match(hash_token(token + "x"), token_hash)
    assert not tokens_match("", token_hash)
