"""The ``tick`` and ``twilio_mock`` fixtures, shared by the app's test folders."""

from tests.tick_helpers import tick  # noqa: F401  (fixture)
from tests.twilio_mock import twilio_mock  # noqa: F401  (fixture)
