"""RAND-36 scales against RAND's scoring rules, worked by hand."""

import pytest

from surveys import get_instrument, score

RAND36 = get_instrument("rand36")

ANSWERS = {
    "q1": "3",
    "q2": "3",
    # physical functioning: 0, 50, 100, 50, 100, 50, 0, 50, 100, 100 -> 600 / 10 = 60
    "q3": "1",
    "q4": "2",
    "q5": "3",
    "q6": "2",
    "q7": "3",
    "q8": "2",
    "q9": "1",
    "q10": "2",
    "q11": "3",
    "q12": "3",
    # role physical: 0, 0, 100, 100 -> 50
    "q13": "1",
    "q14": "1",
    "q15": "2",
    "q16": "2",
    # role emotional: 100, 100, 100 -> 100
    "q17": "2",
    "q18": "2",
    "q19": "2",
    # social functioning: q20 "slightly" 75, q32 "a little of the time" 75 -> 75
    "q20": "2",
    "q32": "4",
    # pain: q21 "moderate" 40, q22 "moderately" 50 -> 45
    "q21": "4",
    "q22": "3",
    # energy: q23 some 40, q27 good bit 60, q29 most (worn out) 20, q31 most (tired) 20 -> 35
    "q23": "4",
    "q27": "3",
    "q29": "2",
    "q31": "2",
    # emotional well-being: q24 80, q25 100, q26 80, q28 80, q30 60 -> 80
    "q24": "5",
    "q25": "6",
    "q26": "2",
    "q28": "5",
    "q30": "3",
    # general health: q1 good 50, q33 mostly false 75, q34 mostly true 75,
    # q35 don't know 50, q36 mostly false 25 -> 55
    "q33": "4",
    "q34": "2",
    "q35": "3",
    "q36": "4",
}


def test_rand36_has_36_items_and_8_scales():
    assert len(RAND36.items) == 36
    assert len(RAND36.scoring) == 8
    assert "SF-36" not in RAND36.title


def test_all_eight_scales_on_a_full_set():
    assert score(RAND36, ANSWERS) == {
        "physical_functioning": 60,
        "role_physical": 50,
        "role_emotional": 100,
        "energy_fatigue": 35,
        "emotional_wellbeing": 80,
        "social_functioning": 75,
        "pain": 45,
        "general_health": 55,
    }


def test_missing_items_are_left_out_of_the_mean():
    partial = {
        k: v for k, v in ANSWERS.items() if k not in {"q3", "q4", "q21", "q17", "q18", "q19"}
    }
    scores = score(RAND36, partial)
    # physical functioning without q3, q4: (100+50+100+50+0+50+100+100) / 8 = 68.75
    assert scores["physical_functioning"] == pytest.approx(68.75)
    assert scores["pain"] == 50  # q22 alone
    assert scores["role_emotional"] is None  # nothing answered


def test_item_2_is_in_no_scale():
    changed = {**ANSWERS, "q2": "1"}
    assert score(RAND36, changed) == score(RAND36, ANSWERS)
