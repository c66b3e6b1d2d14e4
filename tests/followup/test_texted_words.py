"""Which texted replies a nurse reads the same day (``says_more``), on worked examples."""

import pytest

from pro_app.followup.conversation import says_more


@pytest.mark.parametrize(
    "body",
    [
        # a warning sign, in any form of the word or a common misspelling
        "8 help my legs are weak",
        "7 weaker today",
        "8 numbed",
        "9 tingles in my feet",
        "7 tripped",
        "7 wetting myself",
        "5 constipated",
        "7 temp 38.5",
        "7 tempreture",
        "7 wounds leaking",
        "6 brethless",
        "9 not slept",
        "7 agonising",
        # distress, feeling unwell, or needing help
        "7 suicidal",
        "8 depressed",
        "8 so low",
        "7 struggling",
        "7 im a burden",
        "9 feel awful",
        "7 dizzy",
        "8 urgent",
        "9 help",
        "no one has called me",
        "I just want it to stop",
        "my back is killing me",
    ],
)
def test_a_nurse_reads_words_that_may_describe_a_problem(body):
    assert says_more(body)


@pytest.mark.parametrize(
    "body",
    [
        "7",
        "About a 7 thanks x",
        "It's 7 out of 10 today",
        "a bit sore",
        "6, not too bad",
        "5 thank you, Jean",
        "5\nThank you,\nJean Smith",
        "7\nJohn Smith 07700 900123",
        "7\n\nSent from my iPhone",
        "5 Get Outlook for Android",
        "7 take care",
    ],
)
def test_an_answer_with_politeness_or_a_signature_alerts_no_one(body):
    assert not says_more(body)
