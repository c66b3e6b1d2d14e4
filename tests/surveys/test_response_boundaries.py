"""Consensus categories at their exact boundaries, against an oracle in whole tenths.

OMEDs are swept at 0.1 mg resolution, each as a whole number of tenths of a milligram,
and the oracle below decides the categories with integers only (a rise of 25% is
4 x (new - old) >= old), written apart from the product's code (which reads each stored
float as its exact decimal). Each sweep asserts how many pairs it covered.
"""

import json

import pytest
from click.testing import CliRunner

from surveys import PainResponse, evaluate_pain_response, pain_response
from surveys.cli import score_command
from surveys.response_cli import pain_response_command

MINIMUM = 2


def oracle(base_pain: int, base_tenths: int, pain: int, tenths: int) -> str:
    """The category from integers: pain points and OMED in tenths of a mg/day."""
    if base_pain < MINIMUM:
        return "not evaluable"
    change = pain - base_pain
    increased = tenths > base_tenths
    up_25 = increased and 4 * (tenths - base_tenths) >= base_tenths
    down_25 = base_tenths > 0 and 4 * (base_tenths - tenths) >= base_tenths
    if pain == 0 and not increased:
        return "complete"
    if (change <= -2 and not increased) or (down_25 and change <= 0):
        return "partial"
    if (change >= 2 and not down_25) or (up_25 and -1 <= change <= 1):
        return "progression"
    return "indeterminate"


def product(base_pain, base_tenths, pain, tenths) -> str:
    result = evaluate_pain_response(base_pain, base_tenths / 10, pain, tenths / 10)
    return result.category.value if result.category else "not evaluable"


def near(boundary_times_4: int) -> range:
    """Tenths within 3 of a boundary given as 4 x its value (so it may fall between)."""
    low = boundary_times_4 // 4
    return range(max(low - 3, 0), low + 5)


OMED_PAIRS = [
    (base, tenths)
    for base in range(0, 2001)  # 0.0 to 200.0 mg/day
    for tenths in sorted(set(near(5 * base)) | set(near(3 * base)))  # around +25%, -25%
]
PAINS = (0, 4, 5, 6, 7, 8)  # from 6: pain 0, down 2, down 1, stable, up 1, up 2


def test_every_omed_pair_across_both_25_percent_boundaries():
    wrong = [
        (base, tenths, pain)
        for base, tenths in OMED_PAIRS
        for pain in PAINS
        if product(6, base, pain, tenths) != oracle(6, base, pain, tenths)
    ]
    assert len(OMED_PAIRS) == 31_939
    assert wrong == []


def test_every_exact_boundary_pair_is_classified_as_the_oracle_says():
    # pairs exactly at +25% or -25%: base divisible by 4 tenths so the boundary is on the grid
    exact_pairs = [
        (base, target)
        for base in range(4, 2001, 4)
        for target in (base + base // 4, base - base // 4)
    ]
    assert len(exact_pairs) == 1000
    for base, target in exact_pairs:
        for pain in (5, 6, 7):  # pain stable, down 1, up 1 from 6
            assert product(6, base, pain, target) == oracle(6, base, pain, target)
    up = sum(product(6, b, 6, t) == "progression" for b, t in exact_pairs if t > b)
    down = sum(product(6, b, 6, t) == "partial" for b, t in exact_pairs if t < b)
    assert (up, down) == (500, 500)


def test_every_pain_pair_with_omed_stable_up_down_and_from_zero():
    omed_pairs = [(0, 0), (0, 1), (600, 600), (600, 750), (600, 749), (600, 450), (600, 451)]
    checked = 0
    for base_pain in range(0, 11):
        for pain in range(0, 11):
            for base, now in omed_pairs:
                checked += 1
                assert product(base_pain, base, pain, now) == oracle(base_pain, base, pain, now), (
                    base_pain,
                    base,
                    pain,
                    now,
                )
    assert checked == 121 * 7


# Hand-worked from the consensus definitions (co-codamol 8/500: 8 mg codeine a tablet;
# Opioids Aware codeine factor 0.1, so one tablet is 0.8 mg/day oral morphine).
HAND_WORKED = [
    # baseline tablets, pain; follow-up tablets, pain; OMEDs; expected
    ((4, 6), (5, 6), (3.2, 4.0), "progression"),  # +25% exactly, pain stable
    ((4, 6), (5, 7), (3.2, 4.0), "progression"),  # +25%, pain up 1
    ((4, 6), (5, 4), (3.2, 4.0), "indeterminate"),  # +25% but pain down 2: neither
    ((28, 6), (21, 6), (22.4, 16.8), "partial"),  # -25% exactly, pain stable
    ((28, 6), (21, 7), (22.4, 16.8), "indeterminate"),  # -25% but pain up 1
    ((28, 6), (22, 6), (22.4, 17.6), "indeterminate"),  # -21.4%
    ((4, 6), (4, 8), (3.2, 3.2), "progression"),  # pain up 2, OMED stable
    ((4, 6), (3, 8), (3.2, 2.4), "indeterminate"),  # pain up 2 while OMED fell 25%
    ((4, 6), (4, 0), (3.2, 3.2), "complete"),
    ((4, 1), (4, 0), (3.2, 3.2), "not evaluable: baseline pain below 2"),
    ((0, 6), (1, 6), (0.0, 0.8), "progression"),  # any rise from none
]


@pytest.mark.parametrize(("baseline", "now", "omeds", "expected"), HAND_WORKED)
def test_hand_worked_boundary_table_through_score_and_response(
    tmp_path, baseline, now, omeds, expected
):
    runner = CliRunner()
    figures = []
    for tablets in (baseline[0], now[0]):
        answers = tmp_path / "answers.json"
        medicines = [{"drug": "codeine", "strength": 8, "doses": tablets}] if tablets else []
        answers.write_text(json.dumps({"medicines": medicines, "medicine_change": "same"}))
        scored = runner.invoke(score_command, ["analgesic_use", "--answers", str(answers)])
        assert scored.exit_code == 0, scored.output
        result = json.loads(scored.output)["omed"]
        assert (result["table"], result["table_version"]) == ("opioids_aware", "2020")
        figures.append(result["omed_mg_per_day"])
    assert tuple(figures) == omeds
    evaluation = evaluate_pain_response(baseline[1], figures[0], now[1], figures[1])
    assert evaluation.describe() == expected
    files = []
    for tablets, pain in (baseline, now):
        path = tmp_path / f"{len(files)}.json"
        medicines = [{"drug": "codeine", "strength": 8, "doses": tablets}] if tablets else []
        path.write_text(json.dumps({"worst": pain, "medicines": medicines}))
        files.append(str(path))
    judged = runner.invoke(pain_response_command, ["--baseline", files[0], "--follow-up", files[1]])
    assert judged.exit_code == 0, judged.output
    assert json.loads(judged.output)["response"] == expected


def test_pain_response_command_refuses_a_change_of_table_and_bad_files(tmp_path):
    runner = CliRunner()
    answers = tmp_path / "a.json"
    answers.write_text(
        json.dumps({"worst": 6, "medicines": [{"drug": "codeine", "strength": 60, "doses": 4}]})
    )
    args = ["--baseline", str(answers), "--follow-up", str(answers)]
    same = json.loads(runner.invoke(pain_response_command, args).output)
    assert (same["omed_change"], same["response"]) == ("0%", "indeterminate")
    changed = runner.invoke(pain_response_command, [*args, "--follow-up-table", "cdc_2022"])
    assert json.loads(changed.output)["response"] == (
        "not evaluable: OMED conversion table changed since baseline"
    )
    answers.write_text("{not json")
    refused = runner.invoke(pain_response_command, args)
    assert refused.exit_code != 0 and "is not valid JSON: line 1" in refused.output


def test_floating_point_would_have_missed_the_boundary():
    # the sums the consensus needs, done in floating point, fall short of 25%
    assert (4.0 - 3.2) / 3.2 < 0.25 and (16.8 - 22.4) / 22.4 > -0.25
    assert pain_response(6, 3.2, 6, 4.0) == PainResponse.PROGRESSION
    assert pain_response(6, 22.4, 6, 16.8) == PainResponse.PARTIAL
