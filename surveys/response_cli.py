"""``pro-app pain-response``: the consensus category between two answers, from files.

For checking the pain response by hand: each file holds one timepoint's answers, the
worst pain (``worst``, 0-10) and the medicines (``medicines``, as in ``pro-app score
analgesic_use``). Plain Click, no Flask.
"""

import json
from pathlib import Path

import click

from .answers import AnswerError, validate_answer
from .cli import read_answers_file
from .loader import InstrumentError, get_instrument
from .scoring import evaluate_pain_response, score
from .scoring.exact import exact


def _timepoint(path: Path, table: str) -> dict:
    """One timepoint's worst pain and OMED, validated as the questionnaires would."""
    raw = read_answers_file(path)
    if "worst" not in raw or "medicines" not in raw:
        raise click.ClickException(f'{path}: give {{"worst": 0-10, "medicines": [...]}}')
    pain, medicines = get_instrument("pain_nrs"), get_instrument("analgesic_use")
    worst = validate_answer(pain, "worst", raw["worst"])
    answers = {"medicines": validate_answer(medicines, "medicines", raw["medicines"])}
    return {"worst": worst, "omed": score(medicines, answers, omed_table=table)["omed"]}


@click.command("pain-response")
@click.option(
    "--baseline",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="JSON file: the baseline worst pain and medicines",
)
@click.option(
    "--follow-up",
    "follow_up",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file: the follow-up worst pain and medicines",
)
@click.option("--omed-table", default="opioids_aware", show_default=True)
@click.option(
    "--follow-up-table",
    default=None,
    help="Table for the follow-up OMED, if the site changed it (default: the same)",
)
def pain_response_command(
    baseline: Path, follow_up: Path, omed_table: str, follow_up_table: str | None
) -> None:
    """Print both timepoints' OMEDs and the consensus category (Chow 2012) as JSON."""
    try:
        before = _timepoint(baseline, omed_table)
        after = _timepoint(follow_up, follow_up_table or omed_table)
    except (InstrumentError, AnswerError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    start, now = before["omed"], after["omed"]
    same = (start["table"], start["table_version"]) == (now["table"], now["table_version"])
    evaluation = evaluate_pain_response(
        before["worst"],
        start["omed_mg_per_day"],
        after["worst"],
        now["omed_mg_per_day"],
        same_table=same,
    )
    change = None
    if same and start["omed_mg_per_day"] and now["omed_mg_per_day"] is not None:
        ratio = (exact(now["omed_mg_per_day"]) - exact(start["omed_mg_per_day"])) / exact(
            start["omed_mg_per_day"]
        )
        change = f"{float(ratio * 100):g}%"
    result = {
        "baseline": before,
        "follow_up": after,
        "pain_change": after["worst"] - before["worst"],
        "omed_change": change,
        "response": evaluation.describe(),
    }
    click.echo(json.dumps(result, indent=2))
