"""Twilio's webhooks: inbound texts (``/sms/inbound``) and delivery callbacks (``/sms/status``)."""

from functools import wraps

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from ..extensions import csrf
from ..followup.conversation import answer_text, question_again
from ..messaging.inbound import handle_inbound, record_status
from ..models import utcnow
from ..storage import database
from .input_guard import database_id

bp = Blueprint("sms", __name__, url_prefix="/sms")


def twilio_signed(view):
    """Refuse (403) any request whose ``X-Twilio-Signature`` does not verify.

    The URL is rebuilt from ``PUBLIC_BASE_URL`` so validation survives a reverse proxy.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        settings = current_app.extensions["pro_settings"]
        token = settings.twilio_auth_token
        signature = request.headers.get("X-Twilio-Signature", "")
        url = settings.public_base_url + request.full_path.rstrip("?")
        if not token or not RequestValidator(token).validate(url, request.form, signature):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def twiml(replies: list[str]) -> Response:
    response = MessagingResponse()
    for text in replies:
        response.message(text)
    return Response(str(response), mimetype="application/xml")


@bp.post("/inbound")
@csrf.exempt
@twilio_signed
def inbound():
    form = request.form
    session = database.session()
    replies = handle_inbound(
        session,
        sid=form.get("MessageSid", ""),
        from_number=form.get("From", ""),
        to_number=form.get("To", ""),
        body=form.get("Body", ""),
        opt_out_type=form.get("OptOutType"),
        now=utcnow(),
        answer_text=answer_text,
        ask_again=question_again,
    )
    session.commit()
    return twiml(replies)


@bp.post("/status")
@csrf.exempt
@twilio_signed
def status():
    session = database.session()
    record_status(
        session,
        sid=request.form.get("MessageSid", ""),
        status=request.form.get("MessageStatus", ""),
        error_code=request.form.get("ErrorCode"),
        message_id=database_id(request.args.get("m", type=int)),
        now=utcnow(),
    )
    session.commit()
    return "", 204
