"""Follow-up protocols: when each questionnaire is asked, relative to the procedure date."""

import os
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SHIPPED_DIR = Path(__file__).resolve().parent / "protocols"
ENV_VAR = "PRO_PROTOCOLS_DIR"


class ProtocolError(ValueError):
    """A protocol file is invalid; the message names the file, the timepoint and the reason."""


class Timepoint(BaseModel):
    """One timepoint.

    ``anchor: enrolment`` (the baseline) opens at enrolment, is sent at once and closes at
    the end of the procedure day. Other timepoints are sent at the local send hour on
    procedure date + ``offset_days`` and take answers from ``days_before`` days before
    that day to the end of ``days_after`` days after it. Reminders go ``reminder_hours``
    after the invitation (the last one in the list is the last reminder).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    anchor: str = Field(default="procedure", pattern=r"^(procedure|enrolment)$")
    offset_days: int = 0
    days_before: int = Field(default=0, ge=0)
    days_after: int = Field(default=0, ge=0)
    reminder_hours: list[int] = []
    instruments: list[str] = Field(min_length=1)

    @property
    def is_baseline(self) -> bool:
        return self.anchor == "enrolment"

    @model_validator(mode="after")
    def _check(self) -> "Timepoint":
        if any(h <= 0 for h in self.reminder_hours):
            raise ValueError("reminder_hours must be positive")
        if self.reminder_hours != sorted(set(self.reminder_hours)):
            raise ValueError("reminder_hours must increase")
        if not self.is_baseline and self.offset_days - self.days_before < 1:
            raise ValueError("a follow-up timepoint must open after the procedure day")
        if len(set(self.instruments)) != len(self.instruments):
            raise ValueError("an instrument is listed twice")
        return self


class Protocol(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: str
    title: str
    source: str
    timepoints: list[Timepoint] = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self) -> "Protocol":
        ids = [tp.id for tp in self.timepoints]
        if len(set(ids)) != len(ids):
            raise ValueError("timepoint ids repeat")
        if sum(tp.is_baseline for tp in self.timepoints) > 1:
            raise ValueError("only one timepoint can be anchored at enrolment")
        followups = [tp for tp in self.timepoints if not tp.is_baseline]
        for earlier, later in zip(followups, followups[1:], strict=False):
            if later.offset_days <= earlier.offset_days:
                raise ValueError(f"timepoint {later.id}: must come after {earlier.id}")
            if later.offset_days - later.days_before <= earlier.offset_days + earlier.days_after:
                raise ValueError(
                    f"timepoint {later.id}: its window overlaps the window of {earlier.id}"
                )
        return self

    def timepoint(self, timepoint_id: str) -> Timepoint:
        for tp in self.timepoints:
            if tp.id == timepoint_id:
                return tp
        raise KeyError(timepoint_id)


def protocol_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p.strip()]
    return [*extra, SHIPPED_DIR]


def available_protocols() -> dict[str, str]:
    """Every protocol that loads and validates, by name, with its title.

    A site's folders come first, so a site's file shadows a shipped one of the same name,
    as ``load_protocol`` does; a file that does not validate is left out.
    """
    found: dict[str, str] = {}
    for folder in protocol_dirs():
        for path in sorted(folder.glob("*.yaml")):
            if path.stem in found:
                continue
            try:
                found[path.stem] = load_protocol(path.stem).title
            except ProtocolError:
                continue
    return found


def _resolve(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        return path
    for folder in protocol_dirs():
        candidate = folder / f"{name_or_path}.yaml"
        if candidate.exists():
            return candidate
    raise ProtocolError(f"no protocol named {name_or_path!r}")


def load_protocol_file(path: Path, known_instruments: set[str] | None = None) -> Protocol:
    """Read and validate one protocol file; instruments must exist."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProtocolError(f"{path}: cannot read YAML: {exc}") from None
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = error["loc"]
            where = ".".join(str(p) for p in loc)
            if len(loc) >= 2 and loc[0] == "timepoints" and isinstance(loc[1], int):
                tps = data.get("timepoints") or []
                tp_id = tps[loc[1]].get("id") if loc[1] < len(tps) else None
                where = f"timepoint {tp_id or loc[1] + 1}" + (
                    f" field {'.'.join(str(p) for p in loc[2:])}" if loc[2:] else ""
                )
            problems.append(f"{where or 'the file'}: {error['msg'].removeprefix('Value error, ')}")
        raise ProtocolError(f"{path}: " + "; ".join(problems)) from None
    if known_instruments is None:
        from .loader import all_instruments

        known_instruments = set(all_instruments())
    for tp in protocol.timepoints:
        unknown = [i for i in tp.instruments if i not in known_instruments]
        if unknown:
            raise ProtocolError(f"{path}: timepoint {tp.id}: unknown instrument(s) {unknown}")
    return protocol


@lru_cache(maxsize=16)
def load_protocol(name_or_path: str) -> Protocol:
    """A protocol by name (``default``, or a site's file in ``PRO_PROTOCOLS_DIR``) or path."""
    return load_protocol_file(_resolve(name_or_path))
