"""One medicine in a patient's analgesic diary, the medicines known by class, and the
conversion tables as data."""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

DATA_DIR = Path(__file__).resolve().parent / "data"
ANALGESICS = DATA_DIR / "analgesics.yaml"
PATCHES = frozenset({"fentanyl_patch", "buprenorphine_patch"})
OTHER = "other"


# What one entry may hold: more is a slip of the keyboard, not a regimen.
MAX_NAME = 100  # characters of an "other" medicine's name
MAX_STRENGTH = 10_000  # mg a dose (or micrograms an hour for a patch)
MAX_DOSES = 48  # doses in 24 hours


class MedicationEntry(BaseModel):
    """A medicine taken in the last 24 hours.

    ``strength`` is mg per dose for tablets and liquids, micrograms/hour for a patch.
    ``doses`` is how many doses were taken in the 24 hours (ignored for patches).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    drug: str
    name: str | None = Field(default=None, max_length=MAX_NAME)  # for "other"
    strength: float = Field(gt=0, le=MAX_STRENGTH)
    unit: Literal["mg", "mcg/h"] = "mg"
    route: Literal["oral", "transdermal", "subcutaneous", "intravenous", "other"] = "oral"
    doses: float = Field(default=1, ge=0, le=MAX_DOSES)
    pattern: Literal["regular", "as_needed"] = "regular"

    @field_validator("drug")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class Plausibility(BaseModel):
    """Amounts above which an entry is more likely a slip than a regimen (needs review)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rationale: str
    daily_total_mg: float = Field(gt=0)  # oral morphine equivalent mg/day
    per_drug: dict[str, float]  # the drug's own mg/day, or micrograms/hour for a patch


class ConversionTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    version: str
    published: str
    title: str
    source: str
    oral_factors: dict[str, float]
    patch_bands: dict[str, dict[float, float]] = {}
    patch_factors: dict[str, float] = {}
    review: dict[str, str] = {}
    plausibility: Plausibility

    @property
    def label(self) -> str:
        """The table's id and version, as recorded beside every figure it produced."""
        return f"{self.id} {self.version}"


@lru_cache(maxsize=8)
def conversion_table(table_id: str) -> ConversionTable:
    """A conversion table from ``surveys/data/omed_<id>.yaml``."""
    path = DATA_DIR / f"omed_{table_id}.yaml"
    if not path.exists():
        raise ValueError(
            f"unknown conversion table {table_id!r}; known: {', '.join(conversion_table_ids())}"
        )
    return ConversionTable.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def conversion_table_ids() -> list[str]:
    """Every conversion table shipped in ``surveys/data/``."""
    return sorted(p.stem.removeprefix("omed_") for p in DATA_DIR.glob("omed_*.yaml"))


@dataclass(frozen=True)
class MedicineClass:
    code: str
    who_step: int
    opioid: bool
    label: str


@dataclass(frozen=True)
class KnownMedicine:
    """A medicine on the known list: its code (as in the conversion tables) and class."""

    code: str
    kind: MedicineClass

    @property
    def who_step(self) -> int:
        return self.kind.who_step

    @property
    def opioid(self) -> bool:
        return self.kind.opioid


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[a-z0-9]+", text.lower()))


@dataclass(frozen=True)
class AnalgesicList:
    medicines: dict[str, KnownMedicine]
    names: dict[tuple[str, ...], str]  # a name's words -> medicine code

    def by_code(self, code: str) -> KnownMedicine | None:
        return self.medicines.get(code)

    def by_name(self, name: str) -> list[KnownMedicine]:
        """The medicines a written name mentions (none if unknown, several if ambiguous).

        A name counts where its words appear in order ("Pregabalin 75 mg" names
        pregabalin); a name inside a longer matched name ("nurofen" in "nurofen plus")
        is left out.
        """
        words = _words(name)
        spans = []
        for alias, code in self.names.items():
            size = len(alias)
            for start in range(len(words) - size + 1):
                if words[start : start + size] == alias:
                    spans.append((start, start + size, code))
        kept = {
            code
            for start, stop, code in spans
            if not any(s <= start and stop <= e and (e - s) > (stop - start) for s, e, _ in spans)
        }
        return [self.medicines[code] for code in sorted(kept)]


@lru_cache(maxsize=1)
def analgesic_list() -> AnalgesicList:
    """The known medicines of ``surveys/data/analgesics.yaml``."""
    raw = yaml.safe_load(ANALGESICS.read_text(encoding="utf-8"))
    classes = {
        code: MedicineClass(code, spec["who_step"], spec["opioid"], spec["label"])
        for code, spec in raw["classes"].items()
    }
    medicines, names = {}, {}
    for code, spec in raw["medicines"].items():
        medicines[code] = KnownMedicine(code, classes[spec["class"]])
        for name in spec["names"]:
            words = _words(str(name))
            if names.get(words, code) != code:
                raise ValueError(f"{ANALGESICS.name}: {name!r} names two medicines")
            names[words] = code
    return AnalgesicList(medicines, names)


def identify(entry: MedicationEntry) -> list[KnownMedicine]:
    """What an entry is: its listed medicine, or what its written name says for "other"."""
    known = analgesic_list()
    if entry.drug == OTHER:
        return known.by_name(entry.name or "")
    found = known.by_code(entry.drug)
    return [found] if found else []


def who_step(drug: str) -> int | None:
    """WHO analgesic ladder step of a listed medicine: 1 non-opioid or adjuvant, 2 weak
    opioid, 3 strong opioid; None when it is not on the list."""
    found = analgesic_list().by_code(drug)
    return found.who_step if found else None
