"""FHIR bulk data (NDJSON) and the run-time checks of the exported resources."""

import copy
import io
import json
import zipfile

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError
from sqlmodel import Session

from pro_app.audit import exports
from pro_app.audit.exports import ResourceChecks, export_chunks
from pro_app.audit.timelines import AuditFilters
from surveys import get_instrument
from surveys.fhir import canonical_url, to_questionnaire_response
from surveys.fhir_structure import FhirStructureError, check_questionnaire_response
from tests.audit.test_audit_exports import ENROLLED, NOW, PROCEDURE, answer

MODELS = {"Questionnaire": Questionnaire, "QuestionnaireResponse": QuestionnaireResponse}


@pytest.fixture(autouse=True)
def _audit_day(clock):
    clock.move_to(NOW)


@pytest.fixture
def site(gen):
    site = gen.site()
    for number in range(2):
        patient = gen.patient(
            site, now=ENROLLED, study_id=f"A{number}", procedure_date=PROCEDURE
        ).patient
        answer(gen.engine, patient.id, "baseline", 8, 6, other=number == 0)
        answer(gen.engine, patient.id, "week4", 3, 2, channel="sms" if number else "web")
    return site


def exported(engine, fmt: str, site) -> bytes:
    with Session(engine) as session:
        chunks = export_chunks(
            session, "patients", fmt, AuditFilters(site_id=site.id), NOW, secret_key="test-secret"
        )
        return b"".join(c.encode() if isinstance(c, str) else c for c in chunks)


def test_ndjson_has_one_valid_resource_a_line_one_file_per_type(gen, site):
    archive = zipfile.ZipFile(io.BytesIO(exported(gen.engine, "ndjson", site)))
    assert archive.namelist() == ["Questionnaire.ndjson", "QuestionnaireResponse.ndjson"]
    by_kind = {}
    for name in archive.namelist():
        kind = name.removesuffix(".ndjson")
        text = archive.read(name).decode("utf-8")
        assert text.endswith("\n") and "\n\n" not in text
        lines = text.splitlines()
        resources = [json.loads(line) for line in lines]
        for resource in resources:  # every resource of every kind, in full
            assert resource["resourceType"] == kind
            MODELS[kind].model_validate(resource)
        by_kind[kind] = resources
    assert [q["id"] for q in by_kind["Questionnaire"]] == [
        "analgesic-use",
        "pain-nrs",
        "qol-overall",
    ]
    responses = by_kind["QuestionnaireResponse"]
    assert len(responses) == 12  # two patients, two timepoints, three questionnaires
    assert len({r["id"] for r in responses}) == 12
    assert {r["subject"]["identifier"]["value"] for r in responses} == {"A0", "A1"}

    bundle = json.loads(exported(gen.engine, "fhir", site))
    in_bundle = [e["resource"] for e in bundle["entry"]]
    assert in_bundle == by_kind["Questionnaire"] + responses  # the same resources
    assert all(
        e["fullUrl"] == f"urn:uuid:{e['resource']['id']}"
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    )


def valid_response() -> dict:
    return to_questionnaire_response(
        get_instrument("analgesic_use"),
        {
            "medicines": [{"drug": "morphine", "strength": 10, "doses": 2}],
            "medicine_change": "same",
        },
        authored=None,
        include_free_text=False,
        extra={
            "id": "0b0c7a8e-2d1f-5c3a-9e4b-123456789abc",
            "subject": {"identifier": {"system": "urn:x", "value": "A0"}},
            "extension": [{"url": "urn:days", "valueInteger": 28}],
        },
    )


def _wrong_value(resource):
    resource["item"][-1]["answer"][0] = {"valueCoding": {"code": "same"}}


def _text_for_number(resource):
    group = resource["item"][0]
    group["item"][1]["answer"] = [{"valueDecimal": "10"}]


MALFORMED = {
    "an unknown element": lambda r: r.update(authoredBy="nurse"),
    "a bad status": lambda r: r.update(status="done"),
    "an item without linkId": lambda r: r["item"][0].pop("linkId"),
    "a coding without a system": _wrong_value,
    "text where a number goes": _text_for_number,
    "two values in one answer": lambda r: r["item"][-1]["answer"][0].update(valueString="x"),
    "an extension without url": lambda r: r["extension"][0].pop("url"),
    "an empty answer list": lambda r: r["item"][-1].update(answer=[]),
}


# fhir.resources accepts a status outside the required value set, an empty list, a
# coding without a system and a decimal given as text; the structural check does not.
ALSO_FULL = {
    "an unknown element",
    "an item without linkId",
    "two values in one answer",
    "an extension without url",
}


def test_the_structural_check_passes_what_full_validation_passes():
    resource = valid_response()
    QuestionnaireResponse.model_validate(resource)
    check_questionnaire_response(resource)


@pytest.mark.parametrize("problem", sorted(MALFORMED))
def test_the_structural_check_catches_a_malformed_response(problem):
    resource = copy.deepcopy(valid_response())
    MALFORMED[problem](resource)
    with pytest.raises(FhirStructureError):
        check_questionnaire_response(resource)
    if problem in ALSO_FULL:  # the full validation agrees (it is laxer on the others)
        with pytest.raises(ValidationError):
            QuestionnaireResponse.model_validate(resource)


def test_the_sampled_validation_checks_the_first_of_each_questionnaire():
    checks = ResourceChecks(sample_every=10**9)
    resource = valid_response()
    checks.check(resource, "analgesic_use")
    checks.check(resource, "analgesic_use")
    assert checks.validated == 1  # the first in full, then the structure only
    looks_right = copy.deepcopy(resource)
    looks_right["item"][-1]["answer"][0]["valueCoding"]["display"] = 5
    check_questionnaire_response(looks_right)  # the structure does not look at display
    with pytest.raises(ValidationError):  # the sampled full validation does
        ResourceChecks(sample_every=10**9).check(looks_right, "analgesic_use")
    every = ResourceChecks(sample_every=1)
    with pytest.raises(ValidationError):
        every.check(resource, "analgesic_use") or every.check(looks_right, "analgesic_use")


@pytest.mark.parametrize("fmt", ["ndjson", "fhir"])
def test_a_malformed_resource_stops_the_export(gen, site, monkeypatch, fmt):
    made = exports.to_questionnaire_response

    def broken(*args, **kwargs):
        resource = made(*args, **kwargs)
        resource["status"] = "finished"
        return resource

    monkeypatch.setattr(exports, "to_questionnaire_response", broken)
    with pytest.raises(FhirStructureError, match="status 'finished'"):
        exported(gen.engine, fmt, site)


def test_a_response_names_the_version_answered_and_one_left_part_way_is_stopped(gen, site):
    """FHIR's status says a response was abandoned (``stopped``) when its survey expired
    part-answered, and ``questionnaire`` names the version the patient was shown."""
    from sqlmodel import select

    from pro_app.models import Patient, Response, SurveyInstance
    from pro_app.storage.engine import session_scope

    with session_scope(gen.engine) as session:
        first = session.exec(select(Patient).where(Patient.study_id == "A0")).one()
        week4 = session.exec(
            select(SurveyInstance).where(
                SurveyInstance.patient_id == first.id, SurveyInstance.timepoint == "week4"
            )
        ).one()
        week4.status, week4.completed_at = "expired", None
        pain = session.exec(
            select(Response).where(
                Response.instance_id == week4.id, Response.instrument_id == "pain_nrs"
            )
        ).one()
        pain.instrument_version = "0.9"
    responses = [
        r
        for r in json.loads(exported(gen.engine, "fhir", site))["entry"]
        if r["resource"]["resourceType"] == "QuestionnaireResponse"
    ]
    statuses = {}
    for entry in responses:
        resource = entry["resource"]
        QuestionnaireResponse.model_validate(resource)
        statuses[resource["subject"]["identifier"]["value"], resource["questionnaire"]] = resource[
            "status"
        ]
    pain = get_instrument("pain_nrs")
    assert statuses["A0", f"{canonical_url(pain)}|0.9"] == "stopped"
    assert statuses["A1", f"{canonical_url(pain)}|{pain.version}"] == "completed"


def test_response_ids_are_stable_but_keyed_so_no_row_id_can_be_read_from_them(gen, site):
    """The same in every export of one installation (a register matches resubmissions);
    another key gives other ids, so without the app's key the ids cannot be enumerated
    back to rows (and so to the order and number of answers)."""

    def ids(secret_key: str) -> list[str]:
        with Session(gen.engine) as session:
            resources = exports.fhir_resources(
                session, AuditFilters(site_id=site.id), secret_key=secret_key
            )
            return [r["id"] for r in resources if r["resourceType"] == "QuestionnaireResponse"]

    first, again, other = ids("test-secret"), ids("test-secret"), ids("another-secret")
    assert first == again and len(set(first)) == len(first) == 12
    assert not set(first) & set(other)
