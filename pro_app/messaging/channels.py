"""Choosing the SMS channel from the settings."""

from notifications import Channel, DevOutboxChannel, TwilioSmsChannel

from ..config import Settings
from .outbox import LinkContext


def build_channel(settings: Settings) -> Channel:
    """The dev outbox by default; Twilio when ``SMS_BACKEND=twilio``."""
    if settings.sms_backend == "twilio":
        return TwilioSmsChannel(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            # A Messaging Service, where given, picks the sender and handles opt-outs.
            from_number=None if settings.twilio_messaging_service_sid else settings.twilio_from,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            base_url=settings.twilio_api_base_url,
        )
    return DevOutboxChannel()


def link_context(settings: Settings) -> LinkContext:
    callback = (
        f"{settings.public_base_url}/sms/status" if settings.sms_backend == "twilio" else None
    )
    return LinkContext(
        secret_key=settings.secret_key,
        base_url=settings.public_base_url,
        status_callback_url=callback,
    )
