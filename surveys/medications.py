"""One medicine in a patient's analgesic diary, and the conversion tables as data."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

DATA_DIR = Path(__file__).resolve().parent / "data"
NON_OPIOIDS = frozenset({"paracetamol", "nsaid"})
WEAK_OPIOIDS = frozenset({"codeine", "dihydrocodeine", "tramadol"})
PATCHES = frozenset({"fentanyl_patch", "buprenorphine_patch"})


class MedicationEntry(BaseModel):
    """A medicine taken in the last 24 hours.

    ``strength`` is mg per dose for tablets and liquids, micrograms/hour for a patch.
    ``doses`` is how many doses were taken in the 24 hours (ignored for patches).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    drug: str
    name: str | None = Field(default=None, max_length=100)  # for "other"
    strength: float = Field(gt=0, le=10000)
    unit: Literal["mg", "mcg/h"] = "mg"
    route: Literal["oral", "transdermal", "subcutaneous", "intravenous", "other"] = "oral"
    doses: float = Field(default=1, ge=0, le=48)
    pattern: Literal["regular", "as_needed"] = "regular"

    @field_validator("drug")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class ConversionTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    version: str
    title: str
    source: str
    oral_factors: dict[str, float]
    patch_bands: dict[str, dict[float, float]] = {}
    patch_factors: dict[str, float] = {}
    review: dict[str, str] = {}


@lru_cache(maxsize=8)
def conversion_table(table_id: str) -> ConversionTable:
    """A conversion table from ``surveys/data/omed_<id>.yaml``."""
    path = DATA_DIR / f"omed_{table_id}.yaml"
    if not path.exists():
        known = sorted(p.stem.removeprefix("omed_") for p in DATA_DIR.glob("omed_*.yaml"))
        raise ValueError(f"unknown conversion table {table_id!r}; known: {', '.join(known)}")
    return ConversionTable.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def who_step(drug: str) -> int | None:
    """WHO analgesic ladder step of a medicine: 1 non-opioid, 2 weak, 3 strong; None unknown."""
    if drug in NON_OPIOIDS:
        return 1
    if drug in WEAK_OPIOIDS:
        return 2
    if drug in {"morphine", "oxycodone", "hydromorphone", "tapentadol", "methadone"} | PATCHES:
        return 3
    return None
