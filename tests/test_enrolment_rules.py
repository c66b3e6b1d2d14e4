"""Enrolment's rules, the same for the form and the CSV file: no clinical default, every
problem at once in plain words, a time zone from a list, languages by name, plausible
procedure dates, and record-only enrolment of a procedure whose follow-up is over."""

import io
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest
from sqlmodel import Session, select

from pro_app.enrolment import (
    MISSING,
    RECORD_ONLY_REASON,
    EnrolmentError,
    enrol,
    import_csv,
    validate,
)
from pro_app.models import Message, Patient, PatientEvent, Site, SurveyInstance
from pro_app.storage.engine import session_scope
from tests.test_enrolment import form_data
from tests.tick_helpers import tick  # noqa: F401, F811  (fixture)

NOW = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)  # the pinned test clock
COLUMNS = (
    "study_id,first_name,phone,consent,procedure_date,augmentation,levels,lesion_type,electrode"
)


def site(**fields) -> Site:
    return Site(code="S1", name="Spine team", team_phone="0113 496 0000", **fields)


def problems_of(data: dict, **site_fields) -> dict[str, str]:
    with pytest.raises(EnrolmentError) as caught:
        validate(data, site(**site_fields), now=NOW)
    found = {field: message for _, field, message in caught.value.problems}
    assert len(found) == len(caught.value.problems), "one problem per field"
    return found


def test_every_missing_field_is_reported_at_once_in_plain_words():
    found = problems_of({})
    expected = set(MISSING) - {"timezone", "language", "channel", "record_only"}
    assert set(found) == expected
    for message in found.values():
        assert not re.match(r"^\w+:", message)  # no field code in front
        assert message[0].isupper() and message.endswith(".")
    assert found["augmentation"].startswith("Choose the procedure")


@pytest.mark.parametrize("field", ["augmentation", "lesion_type", "electrode"])
def test_the_clinical_choices_have_no_default(field):
    data = form_data(consent=True)
    data[field] = ""
    assert set(problems_of(data)) == {field}
    del data[field]
    assert set(problems_of(data)) == {field}


def test_choices_are_read_in_any_case_and_the_language_by_name():
    data = form_data(consent=True, augmentation="Kyphoplasty", electrode="BIPOLAR")
    item, phone = validate({**data, "language": "English"}, site(), now=NOW)
    assert (item.augmentation, item.electrode, item.language) == ("kyphoplasty", "bipolar", "en")
    assert phone == "+447400123456"


def test_only_languages_the_surveys_speak_are_offered():
    found = problems_of(form_data(consent=True, language="cy"))
    assert found == {"language": "The surveys are available in English only."}


def test_a_missing_time_zone_is_the_sites_and_a_bad_one_is_named():
    data = form_data(consent=True)
    del data["timezone"]
    item, _ = validate(data, site(timezone="Europe/Dublin"), now=NOW)
    assert item.timezone == "Europe/Dublin"
    found = problems_of(form_data(consent=True, timezone="Mars/Olympus"))
    assert found["timezone"].startswith("“Mars/Olympus” is an unknown time zone")


def test_bad_values_in_several_fields_are_all_reported_together():
    found = problems_of(
        form_data(
            consent="",
            phone="0113 496 0000",
            timezone="Nowhere",
            procedure_date="2020-03-01",
            augmentation="balloon",
            levels="X9",
        )
    )
    assert set(found) == {
        "consent",
        "phone",
        "timezone",
        "procedure_date",
        "augmentation",
        "levels",
    }
    assert "not a mobile number" in found["phone"]
    assert "already closed" in found["procedure_date"]


def test_an_implausible_date_is_refused_with_the_range():
    found = problems_of(form_data(consent=True, procedure_date="2099-01-01"))
    assert found["procedure_date"] == (
        "Give a procedure date from 1 January 2000 to 2 December 2027 (one year ahead)."
    )
    found = problems_of(form_data(consent=True, procedure_date="2027-02-30"))
    assert found["procedure_date"].startswith("Give the procedure date as a real date")


def test_the_year_ahead_counts_from_the_sites_date_not_utcs():
    """At 23:30 UTC on 2 December it is already 3 December in Sydney: a procedure on
    3 December 2027 is a year ahead there, and more than that in London."""
    data = form_data(consent=True, procedure_date="2027-12-03")
    assert validate(data, site(timezone="Australia/Sydney"), now=NOW)
    found = problems_of(data, timezone="Europe/London")
    assert found["procedure_date"].endswith("to 2 December 2027 (one year ahead).")


def test_a_past_follow_up_needs_the_record_only_choice_and_a_running_one_refuses_it():
    past = form_data(consent=True, procedure_date="2020-03-01")
    found = problems_of(past)
    assert found["procedure_date"] == (
        "Every follow-up survey of a procedure on 1 March 2020 has already closed (the last "
        "on 15 March 2021). Check the date, or tick “Enrol for the record only” to record "
        "the patient without sending any survey."
    )
    item, _ = validate({**past, "record_only": "yes"}, site(), now=NOW)
    assert item.record_only
    # Eleven months ago: the 12-month survey is still to come, so record-only is refused.
    running = form_data(consent=True, procedure_date="2026-01-02", record_only=True)
    assert "is still running" in problems_of(running)["procedure_date"]
    item, _ = validate({**running, "record_only": False}, site(), now=NOW)
    assert not item.record_only


def test_a_record_only_patient_is_recorded_and_never_sent_anything(gen, tick):  # noqa: F811
    place = gen.site()
    enrolled = gen.patient(place, now=NOW, procedure_date=date(2020, 3, 1), record_only=True)
    assert enrolled.record_only and enrolled.planned == 0
    tick(NOW)
    with Session(gen.engine) as session:
        patient = session.get(Patient, enrolled.patient.id)
        statuses = {i.status for i in session.exec(select(SurveyInstance))}
        event = session.exec(select(PatientEvent)).one()
        assert session.exec(select(Message)).first() is None
    assert (patient.status, patient.status_reason) == ("stopped", RECORD_ONLY_REASON)
    assert statuses == {"cancelled"}
    assert (event.kind, event.detail) == ("enrolled", {"record_only": True})


def test_a_taken_study_id_is_reported_with_the_other_problems(gen):
    place = gen.site()
    gen.patient(place, now=NOW, study_id="RFA-7")
    with pytest.raises(EnrolmentError) as caught, session_scope(gen.engine) as session:
        enrol(
            session,
            session.get(Site, place.id),
            form_data(study_id="RFA-7", consent=True, electrode=""),
            user_id=None,
            now=NOW,
        )
    assert {field for _, field, _ in caught.value.problems} == {"study_id", "electrode"}


class Elements(HTMLParser):
    """Attributes of every element with an id, and the text inside each one."""

    def __init__(self, page: str):
        super().__init__()
        self.attrs: dict[str, dict] = {}
        self.text: dict[str, str] = {}
        self.options: dict[str, list[tuple[str, str, bool]]] = {}
        self._open: list[str] = []
        self._select: str | None = None
        self._option: dict | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.attrs[attrs["id"]] = attrs
            self.text[attrs["id"]] = ""
            if tag not in ("input", "br"):
                self._open.append(attrs["id"])
        elif tag not in ("input", "br", "option"):
            self._open.append("")
        if tag == "select":
            self._select = attrs["id"]
            self.options[self._select] = []
        if tag == "option":
            self._option = {"value": attrs.get("value"), "selected": "selected" in attrs}
            self._option["label"] = ""

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None:
            option = self._option
            self.options[self._select].append(
                (option["value"], option["label"].strip(), option["selected"])
            )
            self._option = None
        elif tag not in ("input", "br") and self._open:
            self._open.pop()

    def handle_data(self, data):
        if self._option is not None:
            self._option["label"] += data
        for element in self._open:
            if element:
                self.text[element] += data


@pytest.fixture
def nurse(client, auth, gen):
    place = gen.site(timezone="Europe/Dublin")
    auth.login(gen.user(place).email)
    return place


def test_the_form_offers_required_choices_a_zone_list_and_languages_by_name(client, nurse):
    page = Elements(client.get("/patients/enrol").text)
    for name in ("augmentation", "lesion_type", "electrode"):
        assert page.options[name][0] == ("", "Choose…", False)
        assert not any(selected for _, _, selected in page.options[name])
    zones = page.options["timezone"]
    assert zones[0] == ("Europe/Dublin", "Ireland (Europe/Dublin)", True)
    assert ("Europe/London", "United Kingdom (Europe/London)", False) in zones
    assert page.options["language"] == [("en", "English", False)]
    assert page.attrs["record_only"]["type"] == "checkbox"
    assert "checked" not in page.attrs["record_only"]


def test_a_form_with_several_errors_shows_each_by_its_field_and_keeps_what_was_typed(
    client, nurse, gen
):
    typed = form_data(
        study_id="RFA-42",
        first_name="Joan",
        phone="0113 496 0000",
        timezone="Europe/London",
        procedure_date="2020-03-01",
        augmentation="",
        levels="T12, X9",
        lesion_type="blastic",
        electrode="",
    )
    response = client.post("/patients/enrol", data=typed)
    assert response.status_code == 422
    page = Elements(response.text)
    wrong = {
        "phone": "is not a mobile number",
        "procedure_date": "has already closed",
        "augmentation": "Choose the procedure",
        "levels": "Give the treated vertebral levels",
        "electrode": "Choose the electrode",
    }
    for name, words in wrong.items():
        assert words in page.text[f"{name}-error"], name
        assert page.attrs[name]["aria-invalid"] == "true"
        assert f"{name}-error" in page.attrs[name]["aria-describedby"].split()
        assert words in page.text["problems"]  # and in the summary, linked to the field
        assert f'href="#{name}"' in response.text
    assert "study_id-error" not in page.attrs and "aria-invalid" not in page.attrs["study_id"]
    assert "5 things need fixing" in page.text["problems"]
    assert not re.search(r"\b(study_id|procedure_date|timezone|lesion_type):", response.text)
    assert page.attrs["study_id"]["value"] == "RFA-42"
    assert page.attrs["first_name"]["value"] == "Joan"
    assert page.attrs["phone"]["value"] == "0113 496 0000"
    assert page.attrs["procedure_date"]["value"] == "2020-03-01"
    assert page.attrs["levels"]["value"] == "T12, X9"
    assert ("blastic", "Blastic (sclerotic)", True) in page.options["lesion_type"]
    assert ("Europe/London", "United Kingdom (Europe/London)", True) in page.options["timezone"]
    assert "checked" in page.attrs["consent"]
    with Session(gen.engine) as session:
        assert session.exec(select(Patient)).first() is None


def test_the_form_enrols_for_the_record_only_when_ticked(client, nurse, gen):
    data = form_data(procedure_date="2020-03-01", record_only="y")
    response = client.post("/patients/enrol", data=data)
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).text
    assert "for the record only: no survey will be sent" in detail  # the flash
    assert "enrolled for the record only" in detail  # the record itself
    with Session(gen.engine) as session:
        assert session.exec(select(Patient)).one().status == "stopped"


def import_rows(gen, place, *rows: str, header: str = COLUMNS):
    with session_scope(gen.engine) as session:
        return import_csv(
            session, session.get(Site, place.id), "\n".join([header, *rows]), user_id=None, now=NOW
        )


def test_an_import_without_the_clinical_columns_is_refused_before_any_row(gen):
    header = "study_id,first_name,phone,consent,procedure_date,levels"
    with pytest.raises(EnrolmentError) as caught:
        import_rows(gen, gen.site(), "A1,Ann,07400 111111,yes,2027-02-01,T12", header=header)
    assert caught.value.problems == [
        (
            1,
            "header",
            "The header row lacks the column(s) augmentation, lesion_type, electrode.",
        )
    ]


def test_an_import_lists_every_problem_of_every_row(gen):
    place = gen.site()
    gen.patient(place, now=NOW, study_id="TAKEN")
    with pytest.raises(EnrolmentError) as caught:
        import_rows(
            gen,
            place,
            "A1,Ann,07400 111111,yes,2027-02-01,,T12,,bipolar",
            "A2,Bob,07400 222222,yes,2020-03-01,kyphoplasty,T12,lytic,bipolar",
            "TAKEN,Cy,07400 333333,yes,2027-02-01,kyphoplasty,T12,lytic,",
            "A1,Di,07400 444444,yes,1999-12-31,vertebroplasty,L1,mixed,monopolar",
        )
    assert [(row, field) for row, field, _ in caught.value.problems] == [
        (2, "augmentation"),
        (2, "lesion_type"),
        (3, "procedure_date"),
        (4, "study_id"),
        (4, "electrode"),
        (5, "study_id"),
        (5, "procedure_date"),
    ]
    messages = [message for _, _, message in caught.value.problems]
    assert "TAKEN is already enrolled at this site." in messages
    assert "A1 repeats row 2." in messages
    with Session(gen.engine) as session:
        assert session.exec(select(Patient)).one().study_id == "TAKEN"


def test_an_import_enrols_a_past_procedure_for_the_record_only_when_its_row_says_so(gen):
    place = gen.site(timezone="Europe/Dublin")
    enrolled = import_rows(
        gen,
        place,
        "B1,Ann,07400 111111,yes,2020-03-01,kyphoplasty,T12,lytic,bipolar,yes",
        "B2,Bob,07400 222222,yes,2027-02-01,Vertebroplasty,L1,Mixed,Monopolar,",
        header=COLUMNS + ",record_only",
    )
    assert [(e.patient.study_id, e.record_only) for e in enrolled] == [
        ("B1", True),
        ("B2", False),
    ]
    assert {e.patient.timezone for e in enrolled} == {"Europe/Dublin"}
    assert enrolled[1].planned == 8


def test_the_import_page_tables_each_problem_in_plain_words(client, nurse):
    text = "\n".join([COLUMNS, "A1,Ann,07400 111111,yes,2020-03-01,,T12,lytic,bipolar"])
    response = client.post(
        "/patients/import",
        data={"file": (io.BytesIO(text.encode()), "patients.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.text
    assert "Nothing was imported: 2 problems" in page
    assert "<td>2</td><td><code>augmentation</code></td><td>Choose the procedure" in page
    assert "has already closed" in page


def test_the_import_command_lists_rows_and_columns_in_plain_words(runner, gen, tmp_path):
    place = gen.site()
    bad = tmp_path / "bad.csv"
    bad.write_text(COLUMNS + "\nC1,Ann,07400 111111,yes,2027-02-01,kyphoplasty,T12,lytic,\n")
    result = runner.invoke(args=["import-patients", str(bad), "--site", place.code])
    assert result.exit_code == 1
    assert "row 2, column electrode: Choose the electrode: bipolar or monopolar." in result.output


def test_the_example_file_in_docs_imports(gen):
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "patients-example.csv").read_text()
    header, *rows = text.strip().splitlines()
    enrolled = import_rows(gen, gen.site(), *rows, header=header)
    assert [e.record_only for e in enrolled] == [False, False, True]


def test_a_time_zone_in_any_case_is_read_as_its_iana_name():
    item, _ = validate(form_data(consent=True, timezone="europe/LONDON"), site(), now=NOW)
    assert item.timezone == "Europe/London"
    found = problems_of(form_data(consent=True, timezone="Europe/Londn"))
    assert "unknown time zone" in found["timezone"]


@pytest.mark.parametrize("written", [1804550400, "1804550400", "2027-02-30", "01/02/2027"])
def test_a_procedure_date_must_be_written_year_month_day(written):
    """A bare number is not read as a Unix time (pydantic would), nor a day that is none."""
    found = problems_of(form_data(consent=True, procedure_date=written))
    assert set(found) == {"procedure_date"}
    assert "year-month-day" in found["procedure_date"]


@pytest.mark.parametrize("word", ["1", "true", "on", "Y", "no", "consented"])
def test_only_yes_is_consent(word):
    assert set(problems_of(form_data(consent=word))) == {"consent"}
    assert validate(form_data(consent=" YES "), site(), now=NOW)[0].consent is True


@pytest.mark.parametrize("name", ["\u200b", "Al\nex", "Jo\u2028an"])
def test_a_first_name_is_visible_and_on_one_line(name):
    assert set(problems_of(form_data(consent=True, first_name=name))) == {"first_name"}
    joined = "\u0d28\u0d4d\u200d"  # a Malayalam letter with a joiner, as names need
    assert validate(form_data(consent=True, first_name=joined), site(), now=NOW)


def test_an_import_with_a_repeated_column_is_refused_naming_it(gen):
    header = COLUMNS.replace("phone", "phone,phone", 1)
    with pytest.raises(EnrolmentError) as caught:
        import_rows(
            gen,
            gen.site(),
            "A1,Ann,07400 100001,07400 100009,yes,2027-02-01,kyphoplasty,T12,lytic,bipolar",
            header=header,
        )
    assert caught.value.problems == [(1, "header", "The header row repeats the column(s) phone.")]
