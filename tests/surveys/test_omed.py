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
    result = omed(entries({"drug": "other", "name": "Zyxoprin", "strength": 30, "doses": 3}), UK)
    assert result.needs_review and result.omed_mg_per_day is None
    assert result.review_reasons == ["Zyxoprin: unknown medicine"]
    assert not result.implausible


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Pregabalin", "gabapentinoid"),
        ("gabapentin 300mg", "gabapentinoid"),
        ("Naproxen", "nsaid"),
        ("ibuprofen gel", "nsaid"),
        ("Amitriptyline", "antidepressant"),
        ("Nefopam", "nefopam"),
        ("Dexamethasone", "corticosteroid"),
        ("Lidocaine plaster", "topical"),
    ],
)
def test_a_named_non_opioid_leaves_the_omed_known(name, kind):
    # Oxycodone 10 mg x 2 x 1.5 = 30, whatever co-analgesic is added
    result = omed(
        entries(
            {"drug": "oxycodone", "strength": 10, "doses": 2},
            {"drug": "other", "name": name, "strength": 75, "doses": 2},
        ),
        UK,
    )
    assert (result.omed_mg_per_day, result.needs_review, result.who_step) == (30, False, 3)
    co_analgesic = result.medicines[1]
    assert co_analgesic["medicine"] == name
    assert co_analgesic["note"] == "non-opioid: OMED unaffected"
    from surveys.medications import analgesic_list

    assert analgesic_list().by_code(kind).who_step == 1


def test_who_step_comes_from_the_list():
    def step(*raw):
        return omed(entries(*raw), UK).who_step

    assert step({"drug": "other", "name": "pregabalin", "strength": 75}) == 1  # adjuvant only
    assert step({"drug": "paracetamol", "strength": 1000, "doses": 4}) == 1
    assert step({"drug": "tramadol", "strength": 50, "doses": 4}) == 2
    assert step({"drug": "other", "name": "Oramorph", "strength": 5, "doses": 4}) == 3
    assert step({"drug": "other", "name": "co-codamol", "strength": 30, "doses": 4}) == 2


def test_a_listed_opioid_written_under_other_is_converted_as_itself():
    result = omed(entries({"drug": "other", "name": "Oramorph", "strength": 5, "doses": 4}), UK)
    assert (result.omed_mg_per_day, result.any_opioid, result.needs_review) == (20, True, False)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Diamorphine", "an opioid with no conversion factor in opioids_aware"),
        ("co-codamol 30/500", "a combination product"),
        ("paracetamol and tramadol", "names more than one medicine (paracetamol, tramadol)"),
    ],
)
def test_an_opioid_that_cannot_be_converted_needs_review(name, reason):
    result = omed(entries({"drug": "other", "name": name, "strength": 10, "doses": 2}), UK)
    assert result.needs_review and result.omed_mg_per_day is None and result.any_opioid
    assert reason in result.review_reasons[0]


def test_sums_are_exact():
    # 8 mg x 5 x 0.1 is 4.000000000000001 in floating point; the stored figure is 4.0
    five = omed(entries({"drug": "codeine", "strength": 8, "doses": 5}), UK)
    seven = omed(entries({"drug": "codeine", "strength": 8, "doses": 7}), UK)
    assert (five.omed_mg_per_day, seven.omed_mg_per_day) == (4.0, 5.6)
    assert repr(five.omed_mg_per_day) == "4.0" and repr(seven.omed_mg_per_day) == "5.6"


def test_an_implausible_dose_is_kept_flagged_and_left_out():
    result = omed(entries({"drug": "morphine", "strength": 10000, "doses": 48}), UK)
    assert result.needs_review and result.implausible
    assert result.omed_mg_per_day is None and result.known_mg_per_day == 480_000
    assert result.review_reasons == [
        "morphine 480,000 mg a day is above the plausible 1,000 mg a day (opioids_aware "
        "2020): check the strength and doses"
    ]


@pytest.mark.parametrize("table", [UK, CDC])
def test_plausibility_limits_sit_on_each_table(table):
    limits = table.plausibility
    assert limits.rationale and limits.daily_total_mg == 1000
    # at the limit is plausible, above it is not
    at = omed(entries({"drug": "morphine", "strength": 500, "doses": 2}), table)
    above = omed(entries({"drug": "morphine", "strength": 100, "doses": 10.01}), table)
    assert (at.omed_mg_per_day, at.implausible) == (1000, False)
    assert above.implausible and "1,001 mg a day" in above.review_reasons[0]
    # each drug within its own limit, the total above the daily limit
    total = omed(
        entries(
            {"drug": "morphine", "strength": 100, "doses": 6},
            {"drug": "oxycodone", "strength": 100, "doses": 3},
        ),
        table,
    )
    assert total.implausible and total.review_reasons == [
        f"total 1,050 mg/day oral morphine equivalent is above the plausible 1,000 mg/day "
        f"({table.id} {table.version}): check the strengths and doses"
    ]


def test_per_drug_limits_add_up_entries_of_one_drug():
    codeine = {"drug": "codeine", "strength": 60, "doses": 4}  # 240 mg a day each
    assert not omed(entries(codeine, codeine), UK).implausible  # 480: at the limit
    assert omed(entries(codeine, codeine, {**codeine, "doses": 1}), UK).implausible
    patch = {"drug": "fentanyl_patch", "strength": 100, "unit": "mcg/h"}
    assert omed(entries(patch, patch, patch), UK).omed_mg_per_day == 720
    assert omed(entries(patch, patch, patch, {**patch, "strength": 12}), UK).implausible


def test_every_table_limits_every_opioid_it_converts():
    from surveys.medications import conversion_table_ids

    for table_id in conversion_table_ids():
        table = conversion_table(table_id)
        converted = {*table.oral_factors, *table.patch_bands, *table.patch_factors}
        assert converted <= set(table.plausibility.per_drug), table_id
        assert table.published and table.version


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
