"""Fixtures the nurse tests share: tick, twilio_mock, own_database, web_and_text."""

from tests.followup.test_key_outcomes import own_database  # noqa: F401  (fixture)
from tests.messaging.test_channel_parity import web_and_text  # noqa: F401  (fixture)
from tests.tick_helpers import tick  # noqa: F401  (fixture)
from tests.twilio_mock import twilio_mock  # noqa: F401  (fixture)
