"""``pro-app instruments list|show|validate`` and ``pro-app score`` (plain Click, no Flask)."""

import json
from pathlib import Path

import click

from .answers import AnswerError, validate_answer
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
    """Check a definition file (an instrument, or a protocol under protocols/)."""
    try:
        if path.parent.name == "protocols":
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
        raw = json.loads(answers_file.read_text(encoding="utf-8"))
        answers = {
            item_id: validate_answer(instrument, item_id, value) for item_id, value in raw.items()
        }
        click.echo(json.dumps(score(instrument, answers, omed_table=omed_table), indent=2))
    except (InstrumentError, AnswerError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
