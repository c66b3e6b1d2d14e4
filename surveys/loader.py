"""Load and validate instrument definition files; refuse a bad one with file, item and reason."""

import os
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from .model import Instrument

SHIPPED_DIR = Path(__file__).resolve().parent / "instruments"
ENV_VAR = "PRO_INSTRUMENTS_DIR"


class InstrumentError(ValueError):
    """A definition file is invalid; the message names the file, the item and the reason."""


def configured_instrument_dirs() -> list[Path]:
    """Extra folders of site definitions from ``PRO_INSTRUMENTS_DIR`` (``os.pathsep``-separated)."""
    return _dirs_in(os.environ.get(ENV_VAR, ""))


def _dirs_in(value: str) -> list[Path]:
    return [Path(part) for part in value.split(os.pathsep) if part.strip()]


def _where(instrument_data: dict, location: tuple) -> str:
    """Turn a pydantic error location into 'item <id>' wording where possible."""
    if len(location) >= 2 and location[0] == "items" and isinstance(location[1], int):
        items = instrument_data.get("items") or []
        index = location[1]
        item_id = (
            items[index].get("id")
            if index < len(items) and isinstance(items[index], dict)
            else None
        )
        rest = ".".join(str(part) for part in location[2:])
        label = f"item {item_id!r}" if item_id else f"item #{index + 1}"
        return f"{label}{' field ' + rest if rest else ''}"
    return "field " + ".".join(str(part) for part in location) if location else "the file"


def load_instrument(path: Path, *, shipped: bool = False) -> Instrument:
    """Read one YAML definition file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InstrumentError(f"{path}: cannot read YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InstrumentError(f"{path}: the file must hold one instrument (a mapping)")
    try:
        instrument = Instrument.model_validate({**data, "shipped": shipped})
    except ValidationError as exc:
        problems = [
            f"{_where(data, tuple(error['loc']))}: {error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        ]
        raise InstrumentError(f"{path}: " + "; ".join(problems)) from None
    if instrument.id != path.stem:
        raise InstrumentError(f"{path}: the id {instrument.id!r} must match the file name")
    return instrument


def load_instruments(extra_dirs: list[Path] | None = None) -> dict[str, Instrument]:
    """The shipped instruments plus every ``*.yaml`` in ``extra_dirs``."""
    instruments: dict[str, Instrument] = {}
    sources: list[tuple[Path, bool]] = [(SHIPPED_DIR, True)]
    sources += [(Path(folder), False) for folder in extra_dirs or []]
    for folder, shipped in sources:
        if not folder.is_dir():
            raise InstrumentError(f"{folder}: no such folder of instrument definitions")
        for path in sorted(folder.glob("*.yaml")):
            instrument = load_instrument(path, shipped=shipped)
            if instrument.id in instruments:
                raise InstrumentError(f"{path}: an instrument {instrument.id!r} is already loaded")
            instruments[instrument.id] = instrument
    return instruments


@lru_cache(maxsize=1)
def _registry(setting: str) -> dict[str, Instrument]:
    return load_instruments(_dirs_in(setting))


def all_instruments() -> dict[str, Instrument]:
    """Every instrument available here (shipped and configured), loaded once (and again
    only if ``PRO_INSTRUMENTS_DIR`` changes)."""
    return _registry(os.environ.get(ENV_VAR, ""))


def get_instrument(instrument_id: str) -> Instrument:
    try:
        return all_instruments()[instrument_id]
    except KeyError:
        raise InstrumentError(f"unknown instrument {instrument_id!r}") from None
