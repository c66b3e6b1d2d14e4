"""Fixtures the nurse tests share: tick, twilio_mock, web_and_text (own_database is in
tests/conftest.py)."""

from tests.messaging.test_channel_parity import web_and_text  # noqa: F401  (fixture)
from tests.tick_helpers import tick  # noqa: F401  (fixture)
from tests.twilio_mock import twilio_mock  # noqa: F401  (fixture)
