"""``pro-app score analgesic_use`` shows how each medicine was counted and why review."""

import json

from click.testing import CliRunner

from surveys.cli import score_command


def scored(tmp_path, medicines: list[dict], *options: str) -> dict:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"medicines": medicines, "medicine_change": "same"}))
    result = CliRunner().invoke(
        score_command, ["analgesic_use", "--answers", str(answers), *options]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["omed"]


def test_an_implausible_dose_is_shown_with_its_reason_and_table(tmp_path):
    omed = scored(tmp_path, [{"drug": "morphine", "strength": 10000, "doses": 48}])
    assert (omed["omed_mg_per_day"], omed["known_mg_per_day"]) == (None, 480000)
    assert (omed["needs_review"], omed["implausible"]) == (True, True)
    assert omed["review_reasons"] == [
        "morphine 480,000 mg a day is above the plausible 1,000 mg a day (opioids_aware "
        "2020): check the strength and doses"
    ]
    assert (omed["table"], omed["table_version"]) == ("opioids_aware", "2020")


def test_a_co_analgesic_is_shown_as_non_opioid(tmp_path):
    omed = scored(
        tmp_path,
        [
            {"drug": "tramadol", "strength": 50, "doses": 4},
            {"drug": "other", "name": "Gabapentin", "strength": 300, "doses": 3},
        ],
        "--omed-table",
        "cdc_2022",
    )
    assert (omed["omed_mg_per_day"], omed["needs_review"], omed["who_step"]) == (40, False, 2)
    assert omed["medicines"] == [
        {
            "medicine": "tramadol",
            "listed_as": "tramadol",
            "class": "weak_opioid",
            "omed_mg_per_day": 40.0,
            "note": "",
        },
        {
            "medicine": "Gabapentin",
            "listed_as": "gabapentinoid",
            "class": "adjuvant",
            "omed_mg_per_day": None,
            "note": "non-opioid: OMED unaffected",
        },
    ]
    assert (omed["table"], omed["table_version"]) == ("cdc_2022", "2022")
