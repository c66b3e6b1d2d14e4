"""Choosing the SMS channel, and how fast texts go through it, from the settings."""

from notifications import Channel, DevOutboxChannel, TwilioSmsChannel

from ..config import Settings
from .outbox import LinkContext
from .pacing import SenderPool, SendRate


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


def sender_pool(settings: Settings) -> SenderPool:
    """``SMS_SEND_CONCURRENCY`` senders paced to ``SMS_RATE_PER_SECOND`` (Twilio only).

    The dev outbox sends nothing, so it needs neither threads nor pacing.
    """
    if settings.sms_backend != "twilio":
        return SenderPool()
    return SenderPool(
        concurrency=settings.sms_send_concurrency,
        rate=SendRate(settings.sms_rate_per_second),
    )
