"""Oral morphine equivalent daily dose (OMED) from an analgesic diary.

The factors estimate total opioid load for audit; they are not for converting a patient
from one opioid to another. Each medicine is looked up in the known list
(``surveys/data/analgesics.yaml``): a non-opioid analgesic or adjuvant is recorded as
"non-opioid: OMED unaffected"; an opioid is converted with the site's table. Only what
cannot be converted (methadone, an opioid without a factor, an unlisted patch strength, a
route without a factor, a combination product, an unknown name) or what is above the
table's plausibility limits is flagged for review, with the reason; the total is then
left empty, never silently counted as zero or as a slip. Sums are exact (fractions of the
stored doses), so a figure such as 3.2 mg/day is exactly 3.2. Which parts are confirmed
against their sources and which are the project's reading: surveys/data/REFERENCES.md.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

from ..medications import (
    OTHER,
    PATCHES,
    ConversionTable,
    KnownMedicine,
    MedicationEntry,
    identify,
)
from .exact import exact

NON_OPIOID_NOTE = "non-opioid: OMED unaffected"


@dataclass(frozen=True)
class OmedResult:
    omed_mg_per_day: float | None  # None when anything needs review
    known_mg_per_day: float  # the part that could be converted
    any_opioid: bool
    who_step: int  # 0 no analgesic, 1 non-opioid, 2 weak opioid, 3 strong opioid
    needs_review: bool
    review_reasons: list[str] = field(default_factory=list)
    table: str = ""
    table_version: str = ""
    implausible: bool = False  # above the table's plausibility limits
    medicines: list[dict] = field(default_factory=list)  # how each entry was counted

    def as_dict(self) -> dict:
        return {
            "omed_mg_per_day": self.omed_mg_per_day,
            "known_mg_per_day": self.known_mg_per_day,
            "any_opioid": self.any_opioid,
            "who_step": self.who_step,
            "needs_review": self.needs_review,
            "implausible": self.implausible,
            "review_reasons": list(self.review_reasons),
            "table": self.table,
            "table_version": self.table_version,
            "medicines": [dict(entry) for entry in self.medicines],
        }


def figure(value: Fraction | float) -> str:
    """A dose for a message: 480,000 or 3.2."""
    return format(float(value), ",.10g")


def entry_omed(
    entry: MedicationEntry, table: ConversionTable
) -> tuple[Fraction | None, str | None]:
    """Oral morphine mg/day of one opioid entry, or (None, reason) when it cannot be
    converted. ``entry.drug`` is the medicine's code in the table."""
    drug = entry.drug
    if drug in table.review:
        return None, table.review[drug]
    if drug in PATCHES:
        if entry.unit != "mcg/h":
            return None, f"{drug}: give the patch strength in micrograms/hour"
        bands = table.patch_bands.get(drug)
        if bands is not None:
            if entry.strength not in bands:
                return None, f"{drug} {entry.strength:g} mcg/h is not a listed band in {table.id}"
            return exact(bands[entry.strength]), None
        factor = table.patch_factors.get(drug)
        if factor is None:
            return None, f"{drug} has no factor in {table.id}"
        return exact(entry.strength) * exact(factor), None
    factor = table.oral_factors.get(drug)
    if factor is None:
        return None, f"{entry.name or drug}: an opioid with no conversion factor in {table.id}"
    if entry.route != "oral" or entry.unit != "mg":
        return None, f"{drug} by {entry.route} route: the table converts oral mg only"
    return exact(entry.strength) * exact(entry.doses) * exact(factor), None


def daily_amount(entry: MedicationEntry) -> Fraction:
    """The drug's own amount a day: mg taken, or micrograms/hour for a patch."""
    if entry.drug in PATCHES:
        return exact(entry.strength)
    return exact(entry.strength) * exact(entry.doses)


def _as_listed(entry: MedicationEntry, medicine: KnownMedicine) -> MedicationEntry:
    """An "other" entry whose name is a listed opioid, scored as that opioid."""
    if entry.drug == medicine.code:
        return entry
    return entry.model_copy(update={"drug": medicine.code})


def _implausible(
    amounts: dict[str, Fraction], known: Fraction, table: ConversionTable
) -> list[str]:
    """Reasons an answer is above the table's plausibility limits (none if within)."""
    limits = table.plausibility
    reasons = []
    for drug, amount in amounts.items():
        limit = limits.per_drug.get(drug)
        if limit is not None and amount > exact(limit):
            unit = "mcg/h" if drug in PATCHES else "mg a day"
            reasons.append(
                f"{drug} {figure(amount)} {unit} is above the plausible {figure(limit)} {unit} "
                f"({table.label}): check the strength and doses"
            )
    if not reasons and known > exact(limits.daily_total_mg):
        reasons.append(
            f"total {figure(known)} mg/day oral morphine equivalent is above the plausible "
            f"{figure(limits.daily_total_mg)} mg/day ({table.label}): check the strengths "
            "and doses"
        )
    return reasons


def omed(entries: list[MedicationEntry], table: ConversionTable) -> OmedResult:
    """Total OMED of a day's medicines, with the table used and anything to review."""
    known = Fraction(0)
    reasons: list[str] = []
    amounts: dict[str, Fraction] = defaultdict(Fraction)
    counted: list[dict] = []
    step = 0
    any_opioid = False
    for entry in entries:
        label = entry.name if entry.drug == OTHER and entry.name else entry.drug
        found = identify(entry)
        row = {
            "medicine": label,
            "listed_as": None,
            "class": "unknown",
            "omed_mg_per_day": None,
            "note": "",
        }
        counted.append(row)
        if not found:
            row["note"] = "unknown medicine: needs review"
            reasons.append(f"{label}: unknown medicine")
            continue
        step = max(step, *(medicine.who_step for medicine in found))
        if len(found) > 1:
            names = ", ".join(medicine.code for medicine in found)
            row["class"], row["note"] = "several", f"names more than one medicine ({names})"
            any_opioid = any_opioid or any(medicine.opioid for medicine in found)
            reasons.append(f"{label}: names more than one medicine ({names}); enter each")
            continue
        medicine = found[0]
        row["listed_as"], row["class"] = medicine.code, medicine.kind.code
        if not medicine.opioid:
            row["note"] = NON_OPIOID_NOTE
            continue
        any_opioid = True
        if medicine.kind.code == "combination":
            row["note"] = "combination product: needs review"
            reasons.append(
                f"{label}: a combination product; enter the opioid it contains (for example "
                "the codeine in co-codamol) under its own name, with the opioid's strength"
            )
            continue
        listed = _as_listed(entry, medicine)
        amounts[listed.drug] += daily_amount(listed)
        value, reason = entry_omed(listed, table)
        if reason:
            row["note"] = "needs review"
            reasons.append(reason)
        else:
            row["omed_mg_per_day"] = float(value)
            known += value
    implausible = _implausible(amounts, known, table)
    reasons += implausible
    return OmedResult(
        omed_mg_per_day=None if reasons else float(known),
        known_mg_per_day=float(known),
        any_opioid=any_opioid,
        who_step=step,
        needs_review=bool(reasons),
        review_reasons=reasons,
        table=table.id,
        table_version=table.version,
        implausible=bool(implausible),
        medicines=counted,
    )
