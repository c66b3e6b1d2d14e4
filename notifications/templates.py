"""Plain-text SMS bodies.

Texts can be read by anyone who picks up the phone, so they carry no clinical
detail: a greeting with the first name, the team's name, the link and how to stop.
No diagnosis, procedure or symptom words appear in invitations and reminders, and
every builder returns GSM-7 text where its inputs allow (see `sms_text`).
"""

from __future__ import annotations

import re

from .sms_text import gsm7_friendly

STOP_LINE = "Reply STOP to stop these texts."

#: Word stems that must never appear in an invitation or a reminder.
CLINICAL_WORDS: tuple[str, ...] = (
    "pain",
    "cancer",
    "metasta",
    "tumo",
    "oncolog",
    "spine",
    "spinal",
    "vertebr",
    "kyphoplast",
    "ablation",
    "radiofrequency",
    "rfa",
    "fracture",
    "surgery",
    "operation",
    "procedure",
    "opioid",
    "morphine",
    "diagnos",
)


def find_clinical_words(text: str) -> list[str]:
    """The clinical word stems found at the start of any word of `text`."""
    words = re.findall(r"[a-z]+", text.lower())
    return [stem for stem in CLINICAL_WORDS if any(w.startswith(stem) for w in words)]


def _clean(value: str) -> str:
    """One line, single spaces, GSM-7 look-alikes swapped in."""
    return " ".join(gsm7_friendly(value).split())


def _hello(first_name: str) -> str:
    name = _clean(first_name)
    return f"Hello {name}," if name else "Hello,"


def invitation(first_name: str, team_name: str, link: str, estimate: str | None = None) -> str:
    """First text of a timepoint: greeting, who asks, how long it takes, the link, how to stop.

    `estimate` is a ready-made phrase such as "about 3 minutes".
    """
    took = f" ({_clean(estimate)})" if estimate else ""
    return (
        f"{_hello(first_name)} {_clean(team_name)} would like to know how you are doing. "
        f"Please answer a few short questions{took}: {link}\n{STOP_LINE}"
    )


def reminder(first_name: str, team_name: str, link: str) -> str:
    """A reminder while the questions are still open."""
    return (
        f"{_hello(first_name)} a reminder from {_clean(team_name)}: "
        f"your short questions are still open: {link}\n{STOP_LINE}"
    )


def last_reminder(first_name: str, team_name: str, link: str, closes: str | None = None) -> str:
    """The final reminder; `closes` is a ready-made phrase such as "on Friday" or "today"."""
    when = f" close {_clean(closes)}" if closes else " close soon"
    return (
        f"{_hello(first_name)} a last reminder from {_clean(team_name)}: "
        f"your short questions{when}: {link}\n{STOP_LINE}"
    )


def conversation_question(
    question: str,
    *,
    minimum: int = 0,
    maximum: int = 10,
    low_label: str | None = None,
    high_label: str | None = None,
    number: int | None = None,
    total: int | None = None,
) -> str:
    """One question of an SMS conversation, with how to answer it.

    >>> conversation_question("How are you today?", low_label="very bad", number=1, total=3)
    'Question 1 of 3: How are you today? Reply with a number from 0 (very bad) to 10.'
    """
    low = f"{minimum} ({_clean(low_label)})" if low_label else str(minimum)
    high = f"{maximum} ({_clean(high_label)})" if high_label else str(maximum)
    prefix = ""
    if number is not None:
        prefix = f"Question {number} of {total}: " if total else f"Question {number}: "
    return f"{prefix}{_clean(question)} Reply with a number from {low} to {high}."


def _prefix(number: int | None, total: int | None) -> str:
    if number is None:
        return ""
    return f"Question {number} of {total}: " if total else f"Question {number}: "


def checklist_question(
    intro: str, lines: list[str], *, number: int | None = None, total: int | None = None
) -> str:
    """A numbered list answered with the numbers of any that apply, or 0 for none.

    >>> checklist_question("Reply with the numbers of any that are new", ["fever", "cough"])
    'Reply with the numbers of any that are new: 1 fever, 2 cough, or 0 for none.'
    """
    listing = ", ".join(f"{n} {_clean(line)}" for n, line in enumerate(lines, 1))
    return f"{_prefix(number, total)}{_clean(intro)}: {listing}, or 0 for none."


def yes_no_question(question: str, *, number: int | None = None, total: int | None = None) -> str:
    """A single yes/no question; it never asks for the word YES (a carrier keyword)."""
    return f"{_prefix(number, total)}{_clean(question)} Reply 1 if so, or 0 if not."


def choice_question(
    question: str, options: list[str], *, number: int | None = None, total: int | None = None
) -> str:
    """One option from a numbered list."""
    listing = ", ".join(f"{n} {_clean(text)}" for n, text in enumerate(options, 1))
    return f"{_prefix(number, total)}{_clean(question)} Reply {listing}."


def unreadable_checklist(count: int, team_name: str, team_phone: str) -> str:
    """Answer to a reply to the numbered list of warning signs that could not be read: how
    to answer, and whom to call now if one of them is new."""
    return (
        f"Sorry, we could not read that. Please reply with the numbers from 1 to {count} "
        f"of any that are new, for example 1 or 1 3, or 0 for none. "
        + _call_now(team_name, team_phone)
    )


def unreadable_passed_on(team_name: str, team_phone: str, *, warning_signs: bool) -> str:
    """After the last unreadable reply to a question: the team has been told; for the
    list of warning signs, whom to call now if one of them is new."""
    told = f"We could not read your replies, so we have asked {_clean(team_name)} to contact you."
    return f"{told} {_call_now(team_name, team_phone)}" if warning_signs else told


def _call_now(team_name: str, team_phone: str) -> str:
    return (
        f"If any of the warning signs is new, call {_clean(team_name)} now on "
        f"{_clean(team_phone)}; if you cannot reach them, call 999."
    )


def which_ones(count: int, team_name: str, team_phone: str) -> str:
    """A plain yes to a numbered list of warning signs: which ones, and call now."""
    return (
        f"Please reply with the numbers from 1 to {count} of the ones that are new, "
        f"for example 1 or 1 3. If any of them is new, call {_clean(team_name)} now on "
        f"{_clean(team_phone)}; if you cannot reach them, call 999."
    )


def words_passed_on(team_name: str, team_phone: str) -> str:
    """Answer to a reply that said more than an answer ("8, my legs have gone weak"): a
    nurse will read it, and whom to call meanwhile."""
    return (
        f"We have passed what you wrote on to {_clean(team_name)}. If you need help now, call "
        f"them on {_clean(team_phone)}; if you cannot reach them, call 999."
    )


def unreadable_yes_no() -> str:
    """Answer to a reply to a yes/no question that could not be read."""
    return "Sorry, we could not read that. Please reply 1 if so, or 0 if not."


def red_flag_advice(advice: list[str], team_name: str, team_phone: str) -> str:
    """The immediate reply to warning signs: the advice the web page shows, and whom to call."""
    said = " ".join(dict.fromkeys(_clean(a) for a in advice))
    return f"Please read this now. {said} Call {_clean(team_name)}: {_clean(team_phone)}."


def conversation_reminder(
    first_name: str, team_name: str, number: int, total: int, answer_with: str
) -> str:
    """A reminder while a text conversation is partly answered; like every reminder it
    names no symptom, so it gives the question's number rather than its words. It names
    the text to answer (by the words "Question N of M" in it, which question 1's text has
    after its greeting; never "our last text", which after a reminder is the reminder) and
    the kind of reply that question takes, so a reply meant for another question is not
    read as this one's."""
    return (
        f"{_hello(first_name)} a reminder from {_clean(team_name)}: question {number} of "
        f'{total} is still waiting for your reply. Please reply to our text with "Question '
        f'{number} of {total}" in it, with {answer_with}.\n{STOP_LINE}'
    )


def thank_you(team_name: str) -> str:
    """Sent when the last answer of a timepoint has arrived."""
    return f"Thank you. {_clean(team_name)} has received your answers."


def help_reply(team_name: str, team_phone: str) -> str:
    """Answer to HELP: who is texting, whom to call, how to stop."""
    return (
        f"{_clean(team_name)} sends these texts to follow up on your care. "
        f"Replies are not read straight away: for help call {_clean(team_phone)}, "
        f"or your emergency number if it is urgent. {STOP_LINE}"
    )


def unreadable_reply(minimum: int = 0, maximum: int = 10) -> str:
    """Answer to a reply that is not a number in range."""
    return f"Sorry, we could not read that. Please reply with a number from {minimum} to {maximum}."


def shared_number_reply(team_name: str | None, team_phone: str | None) -> str:
    """Answer to a reply from a number that more than one patient with open questions uses:
    it cannot be saved, so the sender is asked to call (the team, when all share one)."""
    who = (
        f"call {_clean(team_name)} on {_clean(team_phone)}"
        if team_name and team_phone
        else "call your care team"
    )
    return (
        "Sorry, this number is used by more than one patient, so we cannot tell whose "
        f"answer this is. Please {who}; if it is urgent and you cannot reach them, call 999."
    )


def unknown_sender_reply(team_phone: str | None = None) -> str:
    """Answer to a text we cannot match to an open questionnaire.

    It names no team and no patient: the sender may be anyone.
    """
    contact = f"call {_clean(team_phone)}" if team_phone else "contact your care team"
    return f"Sorry, we could not match your message to open questions. If you need help, {contact}."


def opted_out(team_name: str, team_phone: str) -> str:
    """Confirmation after STOP."""
    return (
        f"You will get no more texts from {_clean(team_name)}. Reply START to get them again. "
        f"Questions? Call {_clean(team_phone)}."
    )


def opted_in(team_name: str) -> str:
    """Confirmation after START."""
    return f"You will get texts from {_clean(team_name)} again. {STOP_LINE}"
