"""Oral morphine equivalent daily dose (OMED) from an analgesic diary.

The factors estimate total opioid load for audit; they are not for converting a patient
from one opioid to another. A medicine the table cannot convert (methadone, an unknown
drug, an unlisted patch strength or a route without a factor) is flagged for review and
the total is left empty, never silently counted as zero.
"""

from dataclasses import dataclass, field

from ..medications import PATCHES, ConversionTable, MedicationEntry, who_step


@dataclass(frozen=True)
class OmedResult:
    omed_mg_per_day: float | None  # None when any opioid needs review
    known_mg_per_day: float  # the part that could be converted
    any_opioid: bool
    who_step: int  # 0 no analgesic, 1 non-opioid, 2 weak opioid, 3 strong opioid
    needs_review: bool
    review_reasons: list[str] = field(default_factory=list)
    table: str = ""
    table_version: str = ""

    def as_dict(self) -> dict:
        return {
            "omed_mg_per_day": self.omed_mg_per_day,
            "known_mg_per_day": self.known_mg_per_day,
            "any_opioid": self.any_opioid,
            "who_step": self.who_step,
            "needs_review": self.needs_review,
            "review_reasons": list(self.review_reasons),
            "table": self.table,
            "table_version": self.table_version,
        }


def entry_omed(entry: MedicationEntry, table: ConversionTable) -> tuple[float | None, str | None]:
    """Oral morphine mg/day of one entry, or (None, reason) when it cannot be converted."""
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
            return float(bands[entry.strength]), None
        factor = table.patch_factors.get(drug)
        if factor is None:
            return None, f"{drug} has no factor in {table.id}"
        return entry.strength * factor, None
    factor = table.oral_factors.get(drug)
    if factor is None:
        label = entry.name or drug
        return None, f"{label}: no conversion factor in {table.id}"
    if entry.route != "oral" or entry.unit != "mg":
        return None, f"{drug} by {entry.route} route: the table converts oral mg only"
    return entry.strength * entry.doses * factor, None


def omed(entries: list[MedicationEntry], table: ConversionTable) -> OmedResult:
    """Total OMED of a day's medicines, with the table used and anything to review."""
    known = 0.0
    reasons: list[str] = []
    step = 0
    any_opioid = False
    for entry in entries:
        entry_step = who_step(entry.drug)
        if entry_step is None:
            reasons.append(f"{entry.name or entry.drug}: unknown medicine")
            continue
        step = max(step, entry_step)
        if entry_step == 1:
            continue
        any_opioid = True
        value, reason = entry_omed(entry, table)
        if reason:
            reasons.append(reason)
        else:
            known += value
    known = round(known, 1)
    return OmedResult(
        omed_mg_per_day=None if reasons else known,
        known_mg_per_day=known,
        any_opioid=any_opioid,
        who_step=step,
        needs_review=bool(reasons),
        review_reasons=reasons,
        table=table.id,
        table_version=table.version,
    )
