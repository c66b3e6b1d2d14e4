"""Real-world replies to a texted survey, each with what it must mean.

Every row is sent, through the inbound handler as the webhook calls it, by its own patient
whose conversation waits at one question: a pain score (0-10) or the numbered list of
warning signs. An
opt-out is never read as an answer and an answer is never read as an opt-out.
"""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from pro_app.followup.conversation import answer_text
from pro_app.messaging.inbound import handle_inbound
from pro_app.models import Alert, Patient, Response
from pro_app.storage.engine import session_scope

ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
STOP, HELP, UNREADABLE = ("stop",), ("help",), ("unreadable",)


def answer(value) -> tuple:
    return ("answer", value)


def flags(*numbers: int) -> tuple:
    return ("answer", frozenset(numbers))


# (reply, the question waiting, what it means)
REPLIES = [
    # Opt-out, however it is written.
    ("STOP", "pain", STOP),
    ("stop", "pain", STOP),
    ("Stop!!!", "pain", STOP),
    ("stop.", "pain", STOP),
    (" STOP ", "pain", STOP),
    ("ＳＴＯＰ", "pain", STOP),  # full-width letters
    ("Ｓtop", "pain", STOP),
    ("S T O P", "pain", STOP),
    ("s.t.o.p.", "pain", STOP),
    ("S-T-O-P", "pain", STOP),
    ("STOP 🙏", "pain", STOP),
    ("Unsubscribe", "pain", STOP),
    ("Opt-out", "pain", STOP),
    ("OPT OUT", "pain", STOP),
    ("please stop texting me", "pain", STOP),
    ("End", "pain", STOP),
    ("QUIT", "pain", STOP),
    ("Stop 1", "flags", STOP),
    ("1 STOP", "flags", STOP),
    ("no more texts", "flags", STOP),
    ("stop", "flags", STOP),
    # Pain scores, including ones with stop-like words that are not opt-outs.
    ("7", "pain", answer(7)),
    ("７", "pain", answer(7)),  # a full-width digit
    ("seven", "pain", answer(7)),
    ("7/10", "pain", answer(7)),
    ("Seven out of ten", "pain", answer(7)),
    ("10 - can't stop the pain", "pain", answer(10)),
    ("The pain won't end. 9", "pain", answer(9)),
    ("0", "pain", answer(0)),
    ("zero", "pain", answer(0)),
    ("I'd say 4", "pain", answer(4)),
    ("4 thanks", "pain", answer(4)),
    ("11", "pain", UNREADABLE),
    ("7 or 8", "pain", UNREADABLE),
    ("yes", "pain", UNREADABLE),  # not an opt-in: the patient never opted out
    ("", "pain", UNREADABLE),  # an MMS with no text
    ("😀", "pain", UNREADABLE),
    ("1" * 5000, "pain", UNREADABLE),
    ("HELP", "pain", HELP),
    ("help me please", "pain", HELP),
    # The numbered list of warning signs.
    ("0", "flags", flags()),
    ("none", "flags", flags()),
    ("None.", "flags", flags()),
    ("no", "flags", flags()),
    ("NO", "flags", flags()),
    ("No thanks", "flags", flags()),
    ("nope", "flags", flags()),
    ("n", "flags", flags()),
    ("Nothing new", "flags", flags()),
    ("０", "flags", flags()),
    ("1 3", "flags", flags(1, 3)),
    ("1,3", "flags", flags(1, 3)),
    ("1, 3", "flags", flags(1, 3)),
    ("1 and 3", "flags", flags(1, 3)),
    ("2 & 5", "flags", flags(2, 5)),
    ("3.", "flags", flags(3)),
    ("9", "flags", flags(9)),
    ("10", "flags", UNREADABLE),
    ("0 and 2", "flags", UNREADABLE),
    ("no 3", "flags", UNREADABLE),
    ("Yes", "flags", UNREADABLE),  # which ones? asked again with the call-now advice
    ("YES", "flags", UNREADABLE),
    ("yes I do", "flags", UNREADABLE),
    ("🙂", "flags", UNREADABLE),
]

BEFORE = {"pain": [], "flags": ["5", "5", "5"]}
WAITING = {  # the questionnaire and items of the question each row answers
    "pain": ("pain_nrs", ("worst",)),
    "flags": ("red_flags", None),
}
FLAG_ITEMS = (
    "weakness",
    "walking",
    "numbness",
    "bladder_bowel",
    "band_pain",
    "severe_back_pain",
    "fever",
    "wound",
    "chest",
)


def _text(engine, number: str, body: str, sid: str, at, opt_out_type=None) -> list[str]:
    with session_scope(engine) as session:
        return handle_inbound(
            session,
            sid=sid,
            from_number=number,
            to_number="+447400000000",
            body=body,
            opt_out_type=opt_out_type,
            now=at,
            answer_text=answer_text,
        )


def _saved(engine, patient_id: int, instrument_id: str) -> dict:
    with Session(engine) as session:
        rows = session.exec(select(Response).where(Response.is_current)).all()
        from pro_app.models import SurveyInstance

        ids = {
            i.id
            for i in session.exec(
                select(SurveyInstance).where(SurveyInstance.patient_id == patient_id)
            )
        }
    row = next((r for r in rows if r.instance_id in ids and r.instrument_id == instrument_id), None)
    return row.answers if row else {}


def test_each_real_world_reply_means_what_it_says(gen, tick):
    assert len(REPLIES) >= 40
    site = gen.site(team_phone="0113 496 0123")
    patients = [gen.patient(site, now=ENROLLED, channel="sms").patient for _ in REPLIES]
    tick(ENROLLED)
    at = ENROLLED + timedelta(hours=1)
    problems = []
    for row, ((body, waiting, meaning), patient) in enumerate(zip(REPLIES, patients, strict=True)):
        for step, earlier in enumerate(BEFORE[waiting]):
            _text(gen.engine, patient.phone_e164, earlier, f"SMpre{row}x{step}", at)
        # Twilio marks a bare YES as an opt-in keyword: the app must still read it as a reply.
        mark = "START" if body.strip().upper() == "YES" else None
        replies = _text(gen.engine, patient.phone_e164, body, f"SMrow{row}", at, mark)
        instrument_id, items = WAITING[waiting]
        saved = _saved(gen.engine, patient.id, instrument_id)
        with Session(gen.engine) as session:
            opted_out = session.get(Patient, patient.id).sms_opted_out
        if meaning == STOP:
            got = STOP if opted_out and not saved else ("not stop", saved, replies)
        elif opted_out:
            got = ("opted out", replies)
        elif meaning == HELP:
            got = HELP if not saved and "0113 496 0123" in " ".join(replies) else replies
        elif meaning == UNREADABLE:
            asked_again = replies and "Sorry" in replies[0] or "numbers" in " ".join(replies)
            got = UNREADABLE if not saved and asked_again else ("read", saved, replies)
        elif waiting == "flags":
            picked = frozenset(n for n, item in enumerate(FLAG_ITEMS, 1) if saved.get(item))
            got = ("answer", picked) if set(saved) == set(FLAG_ITEMS) else ("missing", saved)
        else:
            got = ("answer", saved.get(items[0]))
        if any("get texts from" in r for r in replies):
            got = ("opt-in confirmation sent", replies)
        if got != meaning:
            problems.append((body[:30], waiting, meaning, got))
    assert problems == []
    with Session(gen.engine) as session:  # every raised flag is from a row that picked it
        kinds = {a.kind for a in session.exec(select(Alert))}
    assert "red_flag" in kinds and "opted_out" in kinds


def test_the_medicine_question_by_text_takes_its_options_words():
    """'less', 'the same', 'more' are answers to "less, the same or more", as their numbers are."""
    from pro_app.followup.conversation import read_reply
    from pro_app.followup.instruments import SmsKind, sms_questions

    (question,) = [q for q in sms_questions(["analgesic_use"]) if q.kind == SmsKind.CHOICE]
    said = {body: read_reply(question, body) for body in ("less", "the same", "More", "2")}
    assert {body: question.answers_for(v) for body, v in said.items()} == {
        "less": {"medicine_change": "less"},
        "the same": {"medicine_change": "same"},
        "More": {"medicine_change": "more"},
        "2": {"medicine_change": "same"},
    }
    assert read_reply(question, "More, 4 a day now") is None  # asked again, never guessed
