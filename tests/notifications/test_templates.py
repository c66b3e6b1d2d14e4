from __future__ import annotations

import pytest

from notifications import new_token, segment_info
from notifications import templates as t

BASE_URL = "https://follow-up.northfield-community-health.example.org/s/"
TEAM = "Northfield Follow-up Team"
PHONE = "+44 20 7946 0958"


def link(token: str = "Ab3dEf6hIj9kLm2nOp5qRs") -> str:
    return BASE_URL + token


def test_realistic_link_lengths() -> None:
    assert len(BASE_URL) == 60
    assert len(link()) == 82


@pytest.mark.parametrize("builder", [t.invitation, t.reminder, t.last_reminder])
@pytest.mark.parametrize("token", ["Ab3dEf6hIj9kLm2nOp5qRs", new_token()[0]])
@pytest.mark.parametrize("first_name", ["Ada", "Maximilian-Alexander", "D’Arcy", "Renée"])
def test_invitations_fit_two_gsm7_segments(builder, token: str, first_name: str) -> None:
    body = builder(first_name, TEAM, link(token))
    info = segment_info(body)
    assert info.encoding == "GSM-7"
    assert info.segments <= 2
    assert link(token) in body
    assert TEAM in body
    assert body.endswith("Reply STOP to stop these texts.")


@pytest.mark.parametrize("builder", [t.invitation, t.reminder, t.last_reminder])
def test_invitations_carry_no_clinical_detail(builder) -> None:
    body = builder("Ada", TEAM, link())
    assert body.startswith("Hello Ada,")
    assert t.find_clinical_words(body) == []


def test_standard_invitation_text() -> None:
    assert t.invitation("Ada", TEAM, link()) == (
        "Hello Ada, Northfield Follow-up Team would like to know how you are doing. "
        f"Please answer a few short questions: {link()}\n"
        "Reply STOP to stop these texts."
    )


def test_the_invitation_says_how_long_the_questions_take() -> None:
    body = t.invitation("Ada", TEAM, link(), "about 3 minutes")
    assert f"Please answer a few short questions (about 3 minutes): {link()}\n" in body
    assert t.find_clinical_words(body) == []
    assert segment_info(body).encoding == "GSM-7"


def test_a_name_outside_gsm7_is_kept_and_sent_as_ucs2() -> None:
    body = t.invitation("Siobhán", TEAM, link())
    assert body.startswith("Hello Siobhán,")
    assert segment_info(body).encoding == "UCS-2"


def test_names_are_cleaned() -> None:
    body = t.invitation("  D’Arcy \n", "North  Team", link())
    assert body.startswith("Hello D'Arcy, North Team would")
    assert t.invitation("", TEAM, link()).startswith("Hello, Northfield")


def test_last_reminder_says_when_it_closes() -> None:
    assert "your short questions close today:" in t.last_reminder("Ada", TEAM, link(), "today")
    assert "your short questions close soon:" in t.last_reminder("Ada", TEAM, link())


def test_find_clinical_words() -> None:
    assert t.find_clinical_words("How is your Pain after the kyphoplasty?") == [
        "pain",
        "kyphoplast",
    ]
    assert t.find_clinical_words("Spinal Metastases Clinic") == ["metasta", "spinal"]
    assert t.find_clinical_words("Painswick Road Team") == ["pain"]  # stems are strict on purpose
    assert t.find_clinical_words(TEAM) == []


def test_conversation_question() -> None:
    assert t.conversation_question("How are you today?") == (
        "How are you today? Reply with a number from 0 to 10."
    )
    assert t.conversation_question(
        "Worst in the last 24 hours?",
        low_label="none",
        high_label="worst imaginable",
        number=2,
        total=5,
    ) == (
        "Question 2 of 5: Worst in the last 24 hours? "
        "Reply with a number from 0 (none) to 10 (worst imaginable)."
    )
    assert t.conversation_question("Q?", minimum=1, maximum=5, number=3).startswith("Question 3: ")


def test_short_replies() -> None:
    assert t.thank_you(TEAM) == "Thank you. Northfield Follow-up Team has received your answers."
    assert t.unreadable_reply() == (
        "Sorry, we could not read that. Please reply with a number from 0 to 10."
    )
    assert "from 1 to 5" in t.unreadable_reply(1, 5)
    assert TEAM not in t.unknown_sender_reply(PHONE)
    assert t.unknown_sender_reply(PHONE).endswith(f"call {PHONE}.")
    assert t.unknown_sender_reply().endswith("contact your care team.")
    assert "START" in t.opted_out(TEAM, PHONE) and PHONE in t.opted_out(TEAM, PHONE)
    assert "STOP" in t.opted_in(TEAM)


def test_help_reply() -> None:
    body = t.help_reply(TEAM, PHONE)
    assert TEAM in body and PHONE in body and "Reply STOP" in body
    assert "emergency" in body
    assert segment_info(body).segments <= 2
    assert segment_info(body).encoding == "GSM-7"
