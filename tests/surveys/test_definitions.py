"""Loading and validating instrument and protocol files, answers and red flags."""

from pathlib import Path
from textwrap import dedent

import pytest

from surveys import (
    AnswerError,
    InstrumentError,
    ProtocolError,
    all_instruments,
    enabled_items,
    get_instrument,
    load_instrument,
    load_instruments,
    load_protocol,
    load_protocol_file,
    missing_required,
    red_flags_raised,
    score,
    validate_answer,
)
from surveys.loader import _registry

SHIPPED = {"pain_nrs", "analgesic_use", "rand36", "qol_overall", "red_flags", "global_change"}

ODI_LIKE = """\
id: odi_like
version: "2.1"
title: A licensed disability index (site copy)
source: "Licensed from its rights holder by this site"
licence: "Licensed to this site only: do not redistribute"
recall_period: today
items:
  - id: pain_intensity
    type: single_choice
    text: "Section 1"
    options:
      - {code: a, text: "No pain", score: 0}
      - {code: b, text: "Very mild", score: 1}
      - {code: c, text: "Moderate", score: 2}
  - id: walking
    type: single_choice
    text: "Section 2"
    options:
      - {code: a, text: "No limit", score: 0}
      - {code: b, text: "Less than 1 mile", score: 1}
  - id: walking_aid
    type: yes_no
    text: "Do you use a stick?"
    enable_when: {item: walking, equals: b}
scoring:
  - {id: total, method: sum, items: [pain_intensity, walking]}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(dedent(text))
    return path


def test_every_shipped_instrument_loads_with_source_and_licence():
    instruments = load_instruments()
    assert set(instruments) == SHIPPED
    for instrument in instruments.values():
        assert instrument.source and instrument.licence and instrument.shipped


def test_current_pain_carries_its_loinc_code():
    item = get_instrument("pain_nrs").item("now")
    assert (item.code.system, item.code.code) == ("http://loinc.org", "72514-3")


def test_a_third_party_instrument_loads_from_a_configured_folder(tmp_path, monkeypatch):
    write(tmp_path, "odi_like.yaml", ODI_LIKE)
    monkeypatch.setenv("PRO_INSTRUMENTS_DIR", str(tmp_path))
    _registry.cache_clear()
    try:
        loaded = all_instruments()["odi_like"]
        assert not loaded.shipped and "do not redistribute" in loaded.licence
        assert score(loaded, {"pain_intensity": "c", "walking": "b"}) == {"total": 3}
        assert [i.id for i in enabled_items(loaded, {"walking": "a"})] == [
            "pain_intensity",
            "walking",
        ]
        assert "walking_aid" in missing_required(loaded, {"pain_intensity": "a", "walking": "b"})
    finally:
        _registry.cache_clear()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('type: single_choice\n    text: "Section 2"', 'type: scale\n    text: "Section 2"'),
            "item 'walking'",
        ),
        (("{item: walking, equals: b}", "{item: running, equals: b}"), "unknown item 'running'"),
        (
            ("method: sum, items: [pain_intensity, walking]", "method: sum, items: [nope]"),
            "score total",
        ),
        (("id: pain_intensity", "id: Pain Intensity"), "item 'Pain Intensity' field id"),
    ],
)
def test_a_bad_file_is_refused_with_file_item_and_reason(tmp_path, change, expected):
    path = write(tmp_path, "odi_like.yaml", ODI_LIKE.replace(*change))
    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_a_scale_needs_a_sensible_range(tmp_path):
    bad = ODI_LIKE.replace(
        "  - id: walking_aid\n    type: yes_no\n",
        "  - id: walking_aid\n    type: scale\n    min: 10\n    max: 0\n",
    )
    with pytest.raises(InstrumentError, match="walking_aid.*min < max"):
        load_instrument(write(tmp_path, "odi_like.yaml", bad))


def test_the_file_name_must_match_the_id(tmp_path):
    with pytest.raises(InstrumentError, match="must match the file name"):
        load_instrument(write(tmp_path, "other.yaml", ODI_LIKE))


def test_answers_are_checked_in_plain_words():
    pain = get_instrument("pain_nrs")
    assert validate_answer(pain, "worst", "7") == 7
    for bad in ("11", "-1", "7.5", "seven", True):
        with pytest.raises(AnswerError, match="from 0 to 10"):
            validate_answer(pain, "worst", bad)
    flags = get_instrument("red_flags")
    assert validate_answer(flags, "weakness", "yes") is True
    with pytest.raises(AnswerError, match="yes or no"):
        validate_answer(flags, "weakness", "maybe")
    meds = get_instrument("analgesic_use")
    with pytest.raises(AnswerError, match="Medicine 1"):
        validate_answer(meds, "medicines", [{"drug": "morphine", "strength": -5}])
    with pytest.raises(AnswerError, match="name"):
        validate_answer(meds, "medicines", [{"drug": "other", "strength": 5}])
    with pytest.raises(AnswerError, match="choose one"):
        validate_answer(meds, "medicine_change", "lots")


def test_red_flags_carry_urgency_and_advice_most_urgent_first():
    flags = get_instrument("red_flags")
    raised = red_flags_raised(flags, {"fever": True, "weakness": True, "wound": False})
    assert [(f.item_id, f.urgency) for f in raised] == [("weakness", "now"), ("fever", "local")]
    assert "Call the team now" in raised[0].advice
    assert score(flags, {"fever": True, "weakness": True, "wound": False}) == {"flags_raised": 2}


def test_the_default_protocol():
    protocol = load_protocol("default")
    assert [tp.id for tp in protocol.timepoints] == [
        "baseline",
        "day1",
        "week1",
        "week2",
        "week4",
        "week12",
        "week26",
        "week52",
    ]
    rand36_at = [tp.id for tp in protocol.timepoints if "rand36" in tp.instruments]
    assert rand36_at == ["baseline", "week12", "week52"]
    for tp in protocol.timepoints:
        assert {"pain_nrs", "red_flags", "qol_overall", "analgesic_use"} <= set(tp.instruments)
        assert len(tp.reminder_hours) == 2
    assert protocol.timepoint("week26").days_before == 14


PROTOCOL = """\
id: site_copy
version: "1"
title: A site's copy
source: edited from default
timepoints:
  - {id: baseline, label: Before, anchor: enrolment, instruments: [pain_nrs]}
  - {id: week1, label: Week 1, offset_days: 7, days_before: 2, days_after: 2,
     instruments: [pain_nrs]}
  - {id: week2, label: Week 2, offset_days: 14, days_before: 2, days_after: 2,
     instruments: [pain_nrs]}
"""


def test_a_site_protocol_loads(tmp_path):
    protocols = tmp_path / "protocols"
    protocols.mkdir()
    assert len(load_protocol_file(write(protocols, "site_copy.yaml", PROTOCOL)).timepoints) == 3


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("offset_days: 14, days_before: 2", "offset_days: 10, days_before: 2"), "overlaps"),
        (
            ("instruments: [pain_nrs]}\n  - {id: week2", "instruments: [eq5d]}\n  - {id: week2"),
            "unknown instrument",
        ),
        (
            ("offset_days: 7, days_before: 2", "offset_days: 2, days_before: 2"),
            "after the procedure day",
        ),
        (("{id: week2, label", "{id: week1, label"), "repeat"),
    ],
)
def test_a_bad_protocol_is_refused_with_a_clear_message(tmp_path, change, expected):
    path = write(tmp_path, "site_copy.yaml", PROTOCOL.replace(*change))
    with pytest.raises(ProtocolError, match=expected):
        load_protocol_file(path)
