"""Oral morphine equivalents on hand-worked examples (factors from the reference tables)."""

import pytest

from surveys.medications import MedicationEntry, conversion_table
from surveys.scoring import omed

UK = conversion_table("opioids_aware")
CDC = conversion_table("cdc_2022")


def entries(*raw: dict) -> list[MedicationEntry]:
    return [MedicationEntry.model_validate(entry) for entry in raw]


OXY_PLUS_PRN_MORPHINE = entries(
    {"drug": "oxycodone", "strength": 20, "doses": 2},
    {"drug": "morphine", "strength": 10, "doses": 3, "pattern": "as_needed"},
)


@pytest.mark.parametrize("table", [UK, CDC])
def test_mixed_regimen_is_90_mg_on_either_table(table):
    # oxycodone 20 mg x 2 x 1.5 = 60; morphine 10 mg x 3 x 1 = 30
    result = omed(OXY_PLUS_PRN_MORPHINE, table)
    assert result.omed_mg_per_day == 90
    assert (result.any_opioid, result.who_step, result.needs_review) == (True, 3, False)
    assert (result.table, result.table_version) == (table.id, table.version)


@pytest.mark.parametrize(("table", "expected"), [(UK, 24), (CDC, 36)])
def test_codeine_60_mg_four_times_a_day(table, expected):
    # 240 mg/day x 0.1 (Opioids Aware) or x 0.15 (CDC)
    result = omed(entries({"drug": "codeine", "strength": 60, "doses": 4}), table)
    assert result.omed_mg_per_day == expected
    assert result.who_step == 2


@pytest.mark.parametrize("table", [UK, CDC])
def test_fentanyl_25_patch_is_60(table):
    # Opioids Aware band 25 -> 60; CDC 25 x 2.4 = 60
    patch = entries(
        {"drug": "fentanyl_patch", "strength": 25, "unit": "mcg/h", "route": "transdermal"}
    )
    assert omed(patch, table).omed_mg_per_day == 60


def test_patch_strength_between_bands_needs_review_on_the_uk_table():
    patch = entries({"drug": "fentanyl_patch", "strength": 37, "unit": "mcg/h"})
    assert omed(patch, UK).needs_review
    assert omed(patch, UK).omed_mg_per_day is None
    assert omed(patch, CDC).omed_mg_per_day == pytest.approx(88.8)  # 37 x 2.4


def test_buprenorphine_patches_use_the_published_bands():
    seven_day = entries({"drug": "buprenorphine_patch", "strength": 10, "unit": "mcg/h"})
    twice_weekly = entries({"drug": "buprenorphine_patch", "strength": 35, "unit": "mcg/h"})
    assert omed(seven_day, UK).omed_mg_per_day == 24
    assert omed(twice_weekly, UK).omed_mg_per_day == 84
    cdc = omed(seven_day, CDC)
    assert cdc.needs_review and cdc.omed_mg_per_day is None


@pytest.mark.parametrize("table", [UK, CDC])
def test_methadone_is_flagged_never_scored_zero(table):
    result = omed(
        entries(
            {"drug": "methadone", "strength": 10, "doses": 2}, {"drug": "morphine", "strength": 10}
        ),
        table,
    )
    assert result.needs_review
    assert result.omed_mg_per_day is None
    assert result.known_mg_per_day == 10
    assert "ethadone" in result.review_reasons[0]


def test_an_unknown_medicine_is_flagged():
    result = omed(entries({"drug": "other", "name": "Nefopam", "strength": 30, "doses": 3}), UK)
    assert result.needs_review and result.omed_mg_per_day is None
    assert "Nefopam" in result.review_reasons[0]


def test_a_route_without_a_factor_is_flagged():
    result = omed(entries({"drug": "morphine", "strength": 5, "route": "subcutaneous"}), UK)
    assert result.needs_review and "route" in result.review_reasons[0]


def test_non_opioids_only_and_no_medicines():
    paracetamol = omed(entries({"drug": "paracetamol", "strength": 1000, "doses": 4}), UK)
    assert (paracetamol.omed_mg_per_day, paracetamol.any_opioid, paracetamol.who_step) == (
        0,
        False,
        1,
    )
    nothing = omed([], UK)
    assert (nothing.omed_mg_per_day, nothing.who_step) == (0, 0)


def test_an_unknown_table_is_refused():
    with pytest.raises(ValueError, match="unknown conversion table"):
        conversion_table("guesswork")
