from __future__ import annotations

import pytest

from notifications import (
    Reply,
    corrects_an_answer,
    opt_out_type_from_twilio,
    parse_checklist,
    parse_choice,
    parse_reply,
    parse_scale_end,
    parse_yes_no,
    without_signature,
    words_beside,
)

STOP = Reply("stop")
START = Reply("start")
HELP = Reply("help")
UNREADABLE = Reply("unreadable")


def number(value: int) -> Reply:
    return Reply("number", value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Opt-out words, alone or with politeness and punctuation.
        ("STOP", STOP),
        ("stop", STOP),
        ("STOP!!", STOP),
        ("Stop. Thank you", STOP),
        ("stop please", STOP),
        ("Please STOP", STOP),
        ("please stop texting me", STOP),
        ("Stop sending these messages", STOP),
        ("Don’t text me. Stop", STOP),
        ("STOPALL", STOP),
        ("stop all", STOP),
        ("Unsubscribe", STOP),
        ("unsubscribe me from this", STOP),
        ("cancel", STOP),
        ("END", STOP),
        ("quit", STOP),
        ("Revoke", STOP),
        ("OPTOUT", STOP),
        ("opt out", STOP),
        ("Opt-out please", STOP),
        ("I want to stop", STOP),
        ("No more texts please", STOP),
        ("Please don't text me anymore", STOP),
        ("do not contact me", STOP),
        ("Never message me again", STOP),
        ("I don't mind the texts, 5", number(5)),
        # A number together with a plain stop command: stopping wins.
        ("7 STOP", STOP),
        ("Stop. 7", STOP),
        ("8, stop texting me", STOP),
        # A stop word that is not a request to stop texting: the answer counts.
        ("10 - can't stop the pain", number(10)),
        ("10 - can’t stop the pain", number(10)),
        ("The pain won't end. 9", number(9)),
        ("I need to stop taking morphine 6", number(6)),
        ("At the end of the day 4", number(4)),
        ("the pain won't end", UNREADABLE),
        ("cancel my appointment", UNREADABLE),
        ("stopped hurting 0", number(0)),
        # Pain or despair, not texts: never an opt-out (the patient would be left alone).
        ("I just want it to stop", UNREADABLE),
        ("I want to end it all", UNREADABLE),
        ("end it all", UNREADABLE),
        ("Make it stop. 9", number(9)),
        ("stop it", UNREADABLE),
        ("make this stop", UNREADABLE),
        # ... but "these" and "them" are the texts.
        ("stop these", STOP),
        ("Please stop them", STOP),
        ("cancel these please", STOP),
        # Numbers.
        ("7", number(7)),
        (" 7 ", number(7)),
        ("7.", number(7)),
        ("7/10", number(7)),
        ("7 / 10", number(7)),
        ("7 out of 10", number(7)),
        ("seven", number(7)),
        ("Seven.", number(7)),
        ("zero", number(0)),
        ("0", number(0)),
        ("TEN", number(10)),
        ("10", number(10)),
        ("07", number(7)),
        ("7.0", number(7)),
        ("About a 7 today, thanks", number(7)),
        ("7 7", number(7)),
        ("11", UNREADABLE),
        ("-1", UNREADABLE),
        ("7.5", UNREADABLE),
        ("7,5", UNREADABLE),
        ("78", UNREADABLE),
        ("7-8", UNREADABLE),
        ("7 or 8", UNREADABLE),
        ("seven or eight", UNREADABLE),
        ("3/5", UNREADABLE),
        ("twelve", UNREADABLE),
        ("often", UNREADABLE),
        ("", UNREADABLE),
        ("   ", UNREADABLE),
        ("😀", UNREADABLE),
        ("ok", UNREADABLE),
        # Opt back in.
        ("START", START),
        ("start", START),
        ("Unstop", START),
        ("YES", START),
        ("Yes please", START),
        ("started again 5", number(5)),
        ("yes 5", number(5)),
        # Help.
        ("HELP", HELP),
        ("help!", HELP),
        ("Info", HELP),
        ("I need help", HELP),
        ("Can I get some info please", HELP),
        ("5, help", number(5)),
        ("7 and a half", UNREADABLE),
        ("about six and a half", UNREADABLE),
        ("help my legs have gone weak", UNREADABLE),  # says more than a call for help
    ],
)
def test_parse_reply(body: str, expected: Reply) -> None:
    assert parse_reply(body) == expected


def test_range_is_configurable() -> None:
    assert parse_reply("4", minimum=1, maximum=5) == number(4)
    assert parse_reply("0", minimum=1, maximum=5) == UNREADABLE
    assert parse_reply("6", minimum=1, maximum=5) == UNREADABLE
    assert parse_reply("4/5", minimum=1, maximum=5) == number(4)
    assert parse_reply("4/10", minimum=1, maximum=5) == UNREADABLE


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("STOP", "stop"),
        ("start", "start"),
        (" HELP ", "help"),
        (None, None),
        ("", None),
        ("OTHER", None),
    ],
)
def test_opt_out_type_from_twilio(value: str | None, kind: str | None) -> None:
    assert opt_out_type_from_twilio(value) == kind


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("yes", True),
        ("Yes", True),
        ("YES", True),
        ("y", True),
        ("Y", True),
        ("yeah", True),
        ("Yeah I have", True),
        ("yes I do", True),
        ("Yes.", True),
        ("ＹＥＳ", True),
        ("1", True),
        ("no", False),
        ("No", False),
        ("NO", False),
        ("n", False),
        ("nope", False),
        ("Nope, all fine", False),
        ("no I don't", False),
        ("0", False),
        ("yes and no", None),
        ("maybe", None),
        ("I think so", None),
        ("2", None),
        ("", None),
        ("👍", None),
    ],
)
def test_yes_no_words_in_any_case_with_trailing_words(body, expected):
    assert parse_yes_no(body) is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("0", frozenset()),
        ("none", frozenset()),
        ("no", frozenset()),
        ("Nope", frozenset()),
        ("1 3", frozenset({1, 3})),
        ("1,3", frozenset({1, 3})),
        ("1 and 3", frozenset({1, 3})),
        ("3, 1", frozenset({1, 3})),
        ("9", frozenset({9})),
        ("10", None),
        ("0 2", None),
        ("no 2", None),
        ("yes", None),
        ("1.5", frozenset({1, 5})),
        ("9" * 5000, None),
        ("", None),
        ("No thanks", frozenset()),
        ("none of these", frozenset()),
        ("No, I'm fine x", frozenset()),
        ("0 thank you", frozenset()),
        # A "none" that goes on to describe something is asked again, never taken as none.
        ("No but my legs have gone weak since yesterday", None),
        ("Nothing except numbness in my legs", None),
        ("none apart from fever", None),
        ("Nope, only the band pain round my chest", None),
        ("no, legs giving way since yesterday", None),
        ("0 but I can't pee", None),
        # A range names every sign in it; the ones in the middle are never taken as "no".
        ("6-8", frozenset({6, 7, 8})),
        ("1 to 3", frozenset({1, 2, 3})),
        ("2 – 4 and 9", frozenset({2, 3, 4, 9})),
        ("8-6", None),
        ("7-12", None),
        ("3-3", None),
    ],
)
def test_a_numbered_list_reads_the_numbers_picked(body, expected):
    assert parse_checklist(body, 9) == expected


MEDICINE_CHANGE = ("Less", "The same", "More", "I do not take pain medicine")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("1", 1),
        ("two", 2),
        ("4", 4),
        ("less", 1),
        ("Less.", 1),
        ("same", 2),
        ("The same", 2),
        ("same as before thanks", 2),
        ("MORE", 3),
        ("3 more", 3),  # number and words agree
        ("More, 4 a day now", None),  # they disagree: asked again
        ("less, down to 3 a day", None),
        ("4 more tablets", None),
        ("not more", None),  # a negation the label lacks
        ("less or the same", None),  # two options
        ("I do not take pain medicine", 4),
        ("5", None),
        ("", None),
        ("often", None),
    ],
)
def test_parse_choice_reads_an_options_number_or_its_words(body, expected):
    assert parse_choice(body, MEDICINE_CHANGE) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("8 help my legs are weak", ["help", "legs", "are", "weak"]),
        ("I want to end it all", ["want", "end", "it"]),
        ("8 numb", ["numb"]),
        ("7", []),
        ("About a 7 thanks x", []),
        ("It's 7 out of 10 today", []),
        ("a bit sore", []),
        ("6, not too bad", []),
        ("Yes please", []),
        ("7 Jean", ["jean"]),  # one word: a sign-off, not enough alone
    ],
)
def test_words_beside_an_answer_are_what_it_says_more(body, expected):
    assert words_beside(body) == expected


def test_a_phones_sent_from_line_is_no_words_but_what_follows_it_is():
    assert words_beside("7\nSent from my phone") == []
    assert words_beside("7 Sent from my Android phone, call me") == ["call", "me"]


def test_an_options_own_words_are_its_answer_not_more():
    assert words_beside("the same as before", MEDICINE_CHANGE) == []
    assert words_beside("More, 4 a day now", MEDICINE_CHANGE) == ["day"]


@pytest.mark.parametrize("body", ["1O", "l0", "I0", "1o", "O7", "7l"])
def test_digits_typed_with_a_look_alike_letter_are_asked_again_never_misread(body):
    """ "l0" (meant as 10) had been read as 0, and "1O" as 1."""
    assert parse_reply(body) == Reply("unreadable")
    assert parse_checklist(body, 9) is None
    assert parse_yes_no(body) is None
    assert parse_choice(body, MEDICINE_CHANGE) is None


def test_look_alike_letters_in_words_leave_the_number_alone():
    assert parse_reply("lol 7") == Reply("number", 7)
    assert parse_reply("5 o'clock pain is 6") == Reply("unreadable")  # two numbers
    assert parse_checklist("1 oil", 9) == frozenset({1})


@pytest.mark.parametrize(
    "body",
    [
        "7\nJohn Smith 07700 900123",
        "7 call me on 07700900123",
        "7 - sent from +44 (0)7700 900123",
        "7 (0113) 496 0123",
        "7 Mary 087 123 4567",
    ],
)
def test_a_phone_number_in_a_reply_is_not_read_as_its_answer(body):
    """A signature a phone adds to every text made every reply of that patient unreadable."""
    assert parse_reply(body) == Reply("number", 7)
    assert parse_checklist(body, 9) == frozenset({7})


def test_numbers_a_reply_means_are_never_taken_for_a_phone_number():
    assert parse_checklist("1 3 6 7 8 9", 9) == frozenset({1, 3, 6, 7, 8, 9})
    assert parse_checklist("1 2 3 4 5 6 7 8 9", 9) == frozenset(range(1, 10))
    assert parse_reply("0") == Reply("number", 0)
    assert parse_reply("12345678") == Reply("unreadable")


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ("7\nJohn Smith 07700 900123", "7"),
        ("7\nJean Smith", "7"),
        ("7\n\nSent from my iPhone", "7"),
        ("I want to end it all\nJean", "I want to end it all"),
        ("7\nmy legs are weak", "7\nmy legs are weak"),  # a sentence, not a name
        ("Jean Smith", "Jean Smith"),  # the only line: never taken for a signature
    ],
)
def test_a_signature_is_not_counted_as_words_beside_an_answer(body, kept):
    assert without_signature(body) == kept


@pytest.mark.parametrize(
    "body",
    [
        "Feeling gr8",
        "Much better 2day",
        "better b4 the op",
        "on 10mg morphine",
        "Had a fall two days ago",
        "been in bed for three days",
        "Taking 2 paracetamol",
        "I take 8 tablets a day",
        "No one has called me",
    ],
)
def test_a_number_inside_a_word_or_counting_something_is_no_score(body):
    """Each was read as a score: "feeling gr8" as 8, "two days ago" as 2."""
    assert parse_reply(body) == Reply("unreadable")


def test_a_count_of_doses_is_no_option_of_the_medicine_question():
    """ "4 a day" was option 4, "I do not take pain medicine"."""
    assert parse_choice("4 a day", MEDICINE_CHANGE) is None
    assert parse_choice("I take 2 paracetamol", MEDICINE_CHANGE) is None
    assert parse_choice("2", MEDICINE_CHANGE) == 2


@pytest.mark.parametrize(
    ("body", "end"),
    [
        ("No pain", "low"),
        ("I have no pain at all, thank you", "low"),
        ("worst pain imaginable", "high"),
        ("none", "low"),  # none of the pain the scale counts
        ("Nil thanks", "low"),
        ("nothing at all", "low"),
        ("none of it helps", None),
        ("no pain but my legs are weak", None),  # more than the end of the scale
        ("pain", None),
        ("", None),
    ],
)
def test_a_scales_end_said_in_the_questions_words(body, end):
    assert parse_scale_end(body, "No pain", "Worst pain imaginable") == end


def test_none_is_the_low_end_only_of_a_scale_that_starts_at_no_something():
    """ "none" to "0 (As bad as it can be) to 10" says nothing about the scale."""
    assert parse_scale_end("none", "As bad as it can be", "As good as it can be") is None
    assert parse_scale_end("none", None, None) is None


@pytest.mark.parametrize(
    ("body", "corrects"),
    [
        ("Sorry, I meant 8", True),
        ("that should be 6", True),
        ("oops 5 not 6", True),
        ("8", False),
        ("7 thanks", False),
        ("2 no change", False),
        ("last night was bad 8", False),
    ],
)
def test_a_reply_that_takes_back_an_earlier_answer(body, corrects):
    assert corrects_an_answer(body) is corrects
