"""``pro-app instruments list|show|validate`` and ``pro-app score`` (plain Click, no Flask)."""

import json
from pathlib import Path

import click
import yaml

from .answers import AnswerError, missing_required, validate_answer
from .loader import InstrumentError, all_instruments, get_instrument, load_instrument
from .protocol import ProtocolError, load_protocol_file
from .scoring import score


@click.group("instruments", help="Questionnaire definitions.")
def instruments_group() -> None:
    pass


@instruments_group.command("list")
def list_command() -> None:
    """Every instrument available here, with its version, source and licence."""
    for instrument in all_instruments().values():
        origin = "shipped" if instrument.shipped else "site"
        click.echo(f"{instrument.id:16} v{instrument.version:6} {origin:8} {instrument.title}")
        click.echo(f"{'':16} licence: {instrument.licence}")


@instruments_group.command("show")
@click.argument("instrument_id")
def show_command(instrument_id: str) -> None:
    """One instrument's items and scoring rules."""
    try:
        instrument = get_instrument(instrument_id)
    except InstrumentError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{instrument.title} ({instrument.id} v{instrument.version})")
    click.echo(f"Source: {instrument.source}")
    click.echo(f"Licence: {instrument.licence}")
    if instrument.recall_period:
        click.echo(f"Recall period: {instrument.recall_period}")
    for item in instrument.items:
        detail = f"{item.min:g}-{item.max:g}" if item.min is not None else ""
        if item.options:
            detail = ", ".join(option.code for option in item.options)
        flag = f" [red flag: {item.red_flag.urgency}]" if item.red_flag else ""
        click.echo(f"  {item.id} ({item.type}{': ' + detail if detail else ''}){flag}")
        click.echo(f"      {item.text}")
    for rule in instrument.scoring:
        click.echo(f"  score {rule.id} = {rule.method}({', '.join(rule.items)})")


@instruments_group.command("validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate_command(path: Path) -> None:
    """Check a definition file: a protocol (it has ``timepoints``) or an instrument."""
    try:
        if path.parent.name == "protocols" or _has_timepoints(path):
            protocol = load_protocol_file(path)
            click.echo(
                f"{path}: protocol {protocol.id} is valid ({len(protocol.timepoints)} timepoints)"
            )
        else:
            instrument = load_instrument(path)
            click.echo(
                f"{path}: instrument {instrument.id} is valid ({len(instrument.items)} items)"
            )
    except (InstrumentError, ProtocolError) as exc:
        raise click.ClickException(str(exc)) from exc


def _has_timepoints(path: Path) -> bool:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # the instrument loader reports what is wrong with the file
    return isinstance(data, dict) and "timepoints" in data


@click.command("score")
@click.argument("instrument_id")
@click.option(
    "--answers",
    "answers_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON object of item id -> answer",
)
@click.option("--omed-table", default="opioids_aware", show_default=True)
def score_command(instrument_id: str, answers_file: Path, omed_table: str) -> None:
    """Validate answers and print the instrument's scores as JSON."""
    try:
        instrument = get_instrument(instrument_id)
    except InstrumentError as exc:
        raise click.ClickException(str(exc)) from exc
    raw = read_answers_file(answers_file)
    answers, problems = {}, []
    for item_id, value in raw.items():
        try:
            answers[item_id] = validate_answer(instrument, item_id, value)
        except AnswerError as exc:
            problems.append(f"{item_id}: {exc}")
    missing = [item for item in missing_required(instrument, answers) if item not in raw]
    if missing:
        problems.append(f"Required but not answered: {', '.join(missing)}.")
    if problems:
        raise click.ClickException(f"{answers_file}: " + " ".join(problems))
    try:
        scores = score(instrument, answers, omed_table=omed_table)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(scores, indent=2))


def read_answers_file(path: Path) -> dict:
    """The JSON object in ``path``, or a ClickException naming the file and the line."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise click.ClickException(f"{path} is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{path} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}."
        ) from None
    if not isinstance(raw, dict):
        raise click.ClickException(f"{path} must hold one JSON object of item id -> answer.")
    return raw
