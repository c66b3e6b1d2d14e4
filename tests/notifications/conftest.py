from tests.twilio_mock import twilio_mock  # noqa: F401  (registers the fixture)
