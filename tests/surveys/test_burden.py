"""The time budget of each timepoint, and the definition fields the web form reads."""

import pytest

from surveys import InstrumentError, get_instrument, load_instrument, load_protocol
from surveys.burden import SECONDS_PER_QUESTION, Burden, asked_items, web_burden


def test_a_timepoint_without_rand36_is_about_3_minutes_and_with_it_under_10():
    for timepoint in load_protocol("default").timepoints:
        burden = web_burden(timepoint.instruments, baseline=timepoint.is_baseline)
        if "rand36" in timepoint.instruments:
            assert burden.minutes <= 10, timepoint.id
        else:
            assert burden.minutes <= 3, timepoint.id
            assert burden.phrase == "about 3 minutes"


def test_the_estimate_counts_questions_a_tick_list_and_a_medicine():
    # pain: 3 questions; red flags: one list of 9 lines; analgesic use: 1 medicine (4
    # questions) and the change question.
    burden = web_burden(["pain_nrs", "red_flags", "analgesic_use"])
    assert burden.items == 3 + 9 + 2
    assert burden.seconds == 3 * 10 + (10 + 9 * 4) + (4 * 10 + 10)
    at_baseline = web_burden(["analgesic_use"], baseline=True)
    assert at_baseline.seconds == 4 * SECONDS_PER_QUESTION  # no "compared with before"


@pytest.mark.parametrize(
    ("seconds", "phrase"),
    [
        (30, "about 1 minute"),
        (60, "about 1 minute"),
        (61, "about 2 minutes"),
        (146, "about 3 minutes"),
    ],
)
def test_the_phrase_rounds_up_to_whole_minutes(seconds, phrase):
    assert Burden(1, seconds).phrase == phrase


def test_baseline_leaves_out_follow_up_only_items():
    analgesics = get_instrument("analgesic_use")
    assert [i.id for i in asked_items(analgesics, baseline=True)] == ["medicines"]
    assert [i.id for i in asked_items(analgesics, baseline=False)] == [
        "medicines",
        "medicine_change",
    ]


def test_patients_read_plain_headings_and_the_data_keeps_the_title():
    rand = get_instrument("rand36")
    assert rand.heading == "About your health"
    assert rand.title == "RAND 36-Item Health Survey 1.0"
    assert rand.model_dump()["title"] == "RAND 36-Item Health Survey 1.0"


def test_every_red_flag_has_words_for_the_patient():
    flags = get_instrument("red_flags")
    assert flags.checklist is not None
    for item in flags.items:
        assert item.red_flag.reported and item.red_flag.reported[0].islower(), item.id


def test_a_checklist_must_hold_only_yes_no_items(tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text(
        """
id: mixed
version: "1"
title: Mixed
source: test
licence: test
checklist: {question: "Any of these?", none_text: "None"}
items:
  - {id: a, type: yes_no, text: "A?"}
  - {id: b, type: scale, min: 0, max: 10, text: "B?"}
""",
        encoding="utf-8",
    )
    with pytest.raises(InstrumentError, match="only yes/no items"):
        load_instrument(path)
