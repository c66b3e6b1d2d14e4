"""The dev outbox: texts that would have gone to phones, and a way to reply as the patient.

Never registered in production; elsewhere it answers 404 unless asked for
(``PRO_DEV_OUTBOX=1``, which ``pro-app demo`` sets) with ``SMS_BACKEND=outbox``. Even
then a member of staff sees, and replies as, only the patients of their own site;
registry-wide accounts see none.
"""

import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlmodel import select

from notifications import segment_info

from ..accounts.access import roles_required
from ..followup.conversation import answer_text, question_again
from ..messaging.inbound import handle_inbound, patients_with_number
from ..messaging.links import render_body
from ..models import Message, Patient, Role, SurveyInstance, utcnow
from ..storage import database

bp = Blueprint("dev", __name__, url_prefix="/dev")

DEV_NUMBER = "+15005550006"


@bp.before_request
def only_when_turned_on():
    """Not there at all unless ``PRO_DEV_OUTBOX`` (or ``pro-app demo``) turned it on."""
    if not current_app.extensions["pro_settings"].dev_outbox_enabled:
        abort(404)


@bp.get("/outbox")
@roles_required(Role.NURSE)
def outbox():
    session = database.session()
    settings = current_app.extensions["pro_settings"]
    statement = (
        select(Message)
        .join(Patient, Patient.id == Message.patient_id)
        .where(Patient.site_id == current_user.site_id)
        .order_by(Message.id.desc())
        .limit(100)
    )
    messages = session.exec(statement).all() if current_user.site_id is not None else []
    rows = []
    for message in messages:
        instance = session.get(SurveyInstance, message.instance_id) if message.instance_id else None
        body = render_body(
            message.body,
            secret_key=settings.secret_key,
            base_url=settings.public_base_url,
            instance=instance,
        )
        rows.append((message, body, segment_info(body)))
    return render_template("dev/outbox.html", rows=rows)


@bp.post("/reply")
@roles_required(Role.NURSE)
def reply():
    """Answer a text as the patient would, through the real inbound handler."""
    session = database.session()
    number = request.form.get("from", "")
    body = request.form.get("body", "")
    patients = patients_with_number(session, number)
    if not patients or any(p.site_id != current_user.site_id for p in patients):
        abort(404)  # a STOP reaches every patient with the number: all must be this site's
    texts = handle_inbound(
        session,
        sid="DEVIN" + secrets.token_hex(15),
        from_number=number,
        to_number=DEV_NUMBER,
        body=body,
        opt_out_type=None,
        now=utcnow(),
        answer_text=answer_text,
        ask_again=question_again,
    )
    session.commit()
    flash("Reply recorded. Answer: " + (" / ".join(texts) if texts else "(no reply)"), "info")
    return redirect(url_for("dev.outbox"))
