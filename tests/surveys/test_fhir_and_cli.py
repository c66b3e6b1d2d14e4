"""FHIR R4 output and the instruments / score commands."""

import json
from datetime import UTC, datetime

from click.testing import CliRunner
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from surveys import all_instruments, get_instrument
from surveys.cli import instruments_group, score_command
from surveys.fhir import ITEM_WEIGHT, to_questionnaire, to_questionnaire_response

WHEN = datetime(2027, 2, 1, 10, 30, tzinfo=UTC)


def test_every_instrument_is_a_valid_questionnaire():
    for instrument in all_instruments().values():
        resource = to_questionnaire(instrument)
        parsed = Questionnaire.model_validate(resource)
        assert parsed.url.endswith(instrument.id)
        assert len(parsed.item) == len(instrument.items)


def test_answer_scores_travel_as_item_weight():
    resource = to_questionnaire(get_instrument("rand36"))
    first = resource["item"][0]["answerOption"][0]["valueCoding"]
    assert first["display"] == "Excellent"
    assert first["extension"] == [{"url": ITEM_WEIGHT, "valueDecimal": 100}]


def test_loinc_code_on_current_pain():
    items = to_questionnaire(get_instrument("pain_nrs"))["item"]
    now = next(item for item in items if item["linkId"] == "now")
    assert now["code"][0]["code"] == "72514-3"


def test_answers_become_a_valid_questionnaire_response():
    resource = to_questionnaire_response(
        get_instrument("analgesic_use"),
        {
            "medicines": [{"drug": "oxycodone", "strength": 20, "doses": 2}],
            "medicine_change": "less",
        },
        authored=WHEN,
        subject_reference="Patient/RFA-001",
    )
    parsed = QuestionnaireResponse.model_validate(resource)
    assert parsed.questionnaire.endswith("analgesic_use|1.0")
    group = resource["item"][0]
    assert group["linkId"] == "medicines"
    assert group["item"][0]["answer"][0]["valueCoding"]["code"] == "oxycodone"
    change = resource["item"][1]["answer"][0]["valueCoding"]
    assert change["code"] == "less" and change["extension"][0]["valueDecimal"] == -1


def test_free_text_can_be_left_out():
    from surveys.model import Instrument

    instrument = Instrument.model_validate(
        {
            "id": "notes",
            "version": "1",
            "title": "t",
            "source": "s",
            "licence": "l",
            "items": [{"id": "comment", "type": "free_text", "text": "Anything else?"}],
        }
    )
    kept = to_questionnaire_response(instrument, {"comment": "hello"}, authored=WHEN)
    left = to_questionnaire_response(
        instrument, {"comment": "hello"}, authored=WHEN, include_free_text=False
    )
    assert kept["item"] and not left["item"]


def test_cli_lists_shows_validates_and_scores(tmp_path):
    runner = CliRunner()
    listing = runner.invoke(instruments_group, ["list"])
    assert (
        listing.exit_code == 0 and "rand36" in listing.output and "Public domain" in listing.output
    )
    shown = runner.invoke(instruments_group, ["show", "red_flags"])
    assert "weakness (yes_no) [red flag: now]" in shown.output
    from surveys.loader import SHIPPED_DIR

    valid = runner.invoke(instruments_group, ["validate", str(SHIPPED_DIR / "pain_nrs.yaml")])
    assert valid.exit_code == 0 and "valid" in valid.output
    bad = tmp_path / "pain_nrs.yaml"
    bad.write_text((SHIPPED_DIR / "pain_nrs.yaml").read_text().replace("max: 10", "max: 0", 1))
    refused = runner.invoke(instruments_group, ["validate", str(bad)])
    assert refused.exit_code != 0 and "item 'worst'" in refused.output
    answers = tmp_path / "answers.json"
    medicines = [{"drug": "codeine", "strength": 60, "doses": 4}]
    answers.write_text(json.dumps({"medicines": medicines, "medicine_change": "same"}))
    scored = runner.invoke(
        score_command, ["analgesic_use", "--answers", str(answers), "--omed-table", "cdc_2022"]
    )
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.output)["omed"]["omed_mg_per_day"] == 36
    answers.write_text(json.dumps({"worst": 12}))
    refused = runner.invoke(score_command, ["pain_nrs", "--answers", str(answers)])
    assert refused.exit_code != 0 and "from 0 to 10" in refused.output
