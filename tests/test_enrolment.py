"""Enrolment by form, by CSV upload and by command; site scoping of patient records."""

import io
from datetime import UTC, date, datetime

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from pro_app import enrolment
from pro_app.enrolment import EnrolmentError, import_csv, normalise_mobile
from pro_app.messaging.opt_out import set_opt_out
from pro_app.models import AccessLog, Patient, Procedure, Site, SurveyInstance
from pro_app.storage.engine import session_scope
from pro_app.storage.migrate import MigrationRefused, alembic_config, upgrade
from tests.factories import Factory

HEADER = (
    "study_id,first_name,phone,consent,procedure_date,augmentation,levels,lesion_type,electrode"
)


def form_data(**changes) -> dict:
    data = {
        "study_id": "RFA-100",
        "first_name": "Joan",
        "phone": "07400 123456",
        "timezone": "Europe/London",
        "language": "en",
        "channel": "link",
        "consent": "y",
        "procedure_date": "2027-02-01",
        "augmentation": "vertebroplasty",
        "levels": "t12, L1",
        "lesion_type": "mixed",
        "electrode": "monopolar",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("07400 123456", "+447400123456"), ("+44 7400 123456", "+447400123456")],
)
def test_mobile_numbers_are_normalised_to_e164(raw, expected):
    assert normalise_mobile(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("0113 496 0000", "not a mobile"), ("12345", "not a valid"), ("call me", "not a phone")],
)
def test_bad_numbers_are_refused_with_a_reason(raw, reason):
    with pytest.raises(ValueError, match=reason):
        normalise_mobile(raw)


def test_a_nurse_enrols_a_patient_by_form(client, auth, gen):
    site = gen.site()
    nurse = gen.user(site)
    auth.login(nurse.email)
    response = client.post("/patients/enrol", data=form_data())
    assert response.status_code == 302
    with Session(gen.engine) as session:
        patient = session.exec(select(Patient)).one()
        procedure = session.exec(select(Procedure)).one()
        planned = session.exec(select(SurveyInstance)).all()
    assert (patient.site_id, patient.phone_e164, patient.consent) == (
        site.id,
        "+447400123456",
        True,
    )
    assert (procedure.levels, procedure.procedure_date) == ("T12,L1", date(2027, 2, 1))
    assert len(planned) == 8
    assert client.get(response.headers["Location"]).status_code == 200


def test_a_bad_form_says_what_is_wrong_and_saves_nothing(client, auth, gen):
    nurse = gen.user(gen.site())
    auth.login(nurse.email)
    response = client.post(
        "/patients/enrol", data=form_data(phone="0113 496 0000", levels="X9", consent="")
    )
    assert response.status_code == 422
    page = response.data.decode()
    assert "not a mobile number" in page or "consent" in page
    with Session(gen.engine) as session:
        assert session.exec(select(Patient)).first() is None


def test_a_shared_mobile_is_allowed_with_a_warning_naming_only_this_sites_patients(
    client, auth, gen
):
    """A couple may share one phone; the nurse is told what that means for replies. Another
    site's patient on the number is not even counted: any number typed would otherwise
    tell whether its owner is followed up at another hospital."""
    site, elsewhere = gen.site(), gen.site()
    gen.patient(elsewhere, phone="07400 123456", study_id="THEIRS-1")
    auth.login(gen.user(site).email)
    assert client.post("/patients/enrol", data=form_data()).status_code == 302
    response = client.post(
        "/patients/enrol", data=form_data(study_id="RFA-101"), follow_redirects=True
    )
    assert "also used by RFA-100. Texted replies" in response.text
    assert "THEIRS-1" not in response.text and "another site" not in response.text
    gen.patient(elsewhere, phone="07400 555000", study_id="THEIRS-2")
    only_theirs = client.post(
        "/patients/enrol",
        data=form_data(study_id="RFA-110", phone="07400 555000"),
        follow_redirects=True,
    )
    assert "also used by" not in only_theirs.text
    assert "you will get an alert to call" in response.text
    alone = client.post(
        "/patients/enrol",
        data=form_data(study_id="RFA-102", phone="07400 999888"),
        follow_redirects=True,
    )
    assert "also used by" not in alone.text


def test_enrolling_on_a_number_that_texted_stop_says_no_texts_will_go(client, auth, gen):
    site = gen.site()
    earlier = gen.patient(site, phone="07400 123456", study_id="RFA-050").patient
    with session_scope(gen.engine) as session:  # the number texted STOP
        stopped_at = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
        set_opt_out(session, "+447400123456", [session.get(Patient, earlier.id)], True, stopped_at)
    auth.login(gen.user(site).email)
    response = client.post("/patients/enrol", data=form_data(), follow_redirects=True)
    assert "texted STOP to the service earlier, so no texts will be sent" in response.text
    with Session(gen.engine) as session:
        patient = session.exec(select(Patient).where(Patient.study_id == "RFA-100")).one()
    assert patient.sms_opted_out


def test_a_study_id_cannot_be_enrolled_twice_at_a_site(client, auth, gen):
    nurse = gen.user(gen.site())
    auth.login(nurse.email)
    assert client.post("/patients/enrol", data=form_data()).status_code == 302
    response = client.post("/patients/enrol", data=form_data(phone="07400 654321"))
    assert response.status_code == 422
    assert b"already enrolled" in response.data


def test_a_study_id_in_other_capitals_is_the_same_patient(client, auth, gen):
    """ "rfa-100" typed for "RFA-100" would split one patient's follow-up over two records."""
    nurse = gen.user(gen.site())
    auth.login(nurse.email)
    assert client.post("/patients/enrol", data=form_data()).status_code == 302
    response = client.post("/patients/enrol", data=form_data(study_id="rfa-100"))
    assert response.status_code == 422
    assert "rfa-100 is already enrolled at this site, as RFA-100." in response.text
    with Session(gen.engine) as session:
        assert session.exec(select(Patient.study_id)).all() == ["RFA-100"]


def test_csv_import_finds_a_study_id_repeated_in_other_capitals(gen):
    site = gen.site()
    gen.patient(site, study_id="B7")
    text = "\n".join(
        [
            HEADER,
            "A1,Ann,07400 111111,yes,2027-02-01,kyphoplasty,T12,lytic,bipolar",
            "a1,Ann,07400 111111,yes,2027-02-01,kyphoplasty,T12,lytic,bipolar",
            "b7,Bea,07400 222222,yes,2027-02-01,kyphoplasty,T12,lytic,bipolar",
        ]
    )
    with pytest.raises(EnrolmentError) as caught, session_scope(gen.engine) as session:
        import_csv(session, session.get(Site, site.id), text, user_id=None)
    assert caught.value.problems == [
        (3, "study_id", "a1 repeats row 2."),
        (4, "study_id", "b7 is already enrolled at this site, as B7."),
    ]


def test_the_database_refuses_a_study_id_in_other_capitals(gen):
    """Two nurses enrolling at the same moment both pass the form's check: the database
    holds the rule too. Another site may use the same id."""
    site, other = gen.site(), gen.site()
    first = gen.patient(site, study_id="RFA-100").patient
    gen.patient(other, study_id="rfa-100")
    with pytest.raises(IntegrityError), session_scope(gen.engine) as session:
        session.add(Patient(site_id=site.id, study_id="Rfa-100", first_name="Jo", phone_e164=None))
    with Session(gen.engine) as session:
        assert session.exec(select(Patient.id).where(Patient.site_id == site.id)).all() == [
            first.id
        ]


def test_two_nurses_enrolling_one_study_id_at_once_get_a_message_not_an_error(
    client, auth, gen, monkeypatch
):
    """The other nurse's enrolment commits after this one's check: the index refuses it,
    and the nurse is told, with everything typed kept."""
    site = gen.site()
    auth.login(gen.user(site).email)
    gen.patient(site, study_id="RFA-100")
    monkeypatch.setattr(enrolment, "_existing", lambda *args: [])  # checked before it landed
    response = client.post("/patients/enrol", data=form_data(study_id="rfa-100"))
    assert response.status_code == 422
    assert "rfa-100 was enrolled at this site a moment ago, by someone else." in response.text
    assert 'value="Joan"' in response.text
    with Session(gen.engine) as session:
        assert session.exec(select(Patient.study_id)).all() == ["RFA-100"]


def test_the_upgrade_names_study_ids_differing_only_in_capitals_and_changes_nothing(
    own_database,
):
    engine = own_database
    site = Factory(engine).site()
    config = alembic_config(engine)
    with engine.begin() as connection:  # back to before the rule, when such pairs were made
        config.attributes["connection"] = connection
        command.downgrade(config, "0013")
        for study_id in ("RFA-7", "rfa-7", "RFA-8"):
            connection.execute(
                text(
                    "INSERT INTO patient (site_id, study_id, first_name, timezone, language,"
                    " consent, channel, status, sms_opted_out, created_at)"
                    " VALUES (:site, :study_id, 'Jo', 'Europe/London', 'en', true, 'link',"
                    " 'active', false, CURRENT_TIMESTAMP)"
                ),
                {"site": site.id, "study_id": study_id},
            )
    with pytest.raises(MigrationRefused, match=f"site {site.id}: RFA-7 and rfa-7"):
        upgrade(engine)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0013"
    with engine.begin() as connection:
        connection.execute(text("UPDATE patient SET study_id = 'RFA-7B' WHERE study_id = 'rfa-7'"))
    upgrade(engine, "0014")
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0014"


def test_csv_import_reports_each_bad_row_and_imports_nothing(gen):
    site = gen.site()
    text = "\n".join(
        [
            HEADER,
            "A1,Ann,07400 111111,yes,2027-02-01,kyphoplasty,T12,lytic,bipolar",
            "A2,Bob,01134960000,yes,2027-02-01,kyphoplasty,T12,lytic,bipolar",
            "A3,Cy,07400 333333,yes,2027-02-30,kyphoplasty,T12,lytic,bipolar",
            "A1,Di,07400 444444,yes,2027-02-01,kyphoplasty,T12,lytic,bipolar",
            "A5,Ed,07400 555555,no,2027-02-01,balloon,T12,lytic,bipolar",
        ]
    )
    with pytest.raises(EnrolmentError) as caught, session_scope(gen.engine) as session:
        import_csv(session, session.get(Site, site.id), text, user_id=None)
    rows = {(row, field) for row, field, _ in caught.value.problems}
    assert (3, "phone") in rows
    assert (4, "procedure_date") in rows
    assert (5, "study_id") in rows
    assert (6, "consent") in rows and (6, "augmentation") in rows
    assert (2, "phone") not in rows
    with Session(gen.engine) as session:
        assert session.exec(select(Patient)).first() is None


def test_csv_upload_enrols_every_row(client, auth, gen):
    nurse = gen.user(gen.site())
    auth.login(nurse.email)
    text = "\n".join(
        [
            HEADER,
            "B1,Ann,07400 111111,yes,2027-02-01,kyphoplasty,T12,lytic,bipolar",
            "B2,Bob,07400 222222,yes,2027-02-03,vertebroplasty,L1,mixed,monopolar",
        ]
    )
    response = client.post(
        "/patients/import",
        data={"file": (io.BytesIO(text.encode()), "patients.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with Session(gen.engine) as session:
        assert sorted(p.study_id for p in session.exec(select(Patient))) == ["B1", "B2"]


def test_empty_rows_a_spreadsheet_saves_below_the_data_are_skipped(gen):
    """Excel's "CSV UTF-8" keeps rows that once held data as ",,,,,,,,": no patient, and
    no problem to report; a row with anything in it is still checked."""
    site = gen.site()
    text = "\n".join(
        [
            HEADER,
            "C1,Ann,07400 111111,yes,2027-02-01,kyphoplasty,T12,lytic,bipolar",
            ",,,,,,,,",
            " , ,,,,,,,",
            ",,,,,,,,,,",
        ]
    )
    with session_scope(gen.engine) as session:
        enrolled = import_csv(session, session.get(Site, site.id), text, user_id=None)
    assert [e.patient.study_id for e in enrolled] == ["C1"]
    half = "\n".join([HEADER, ",,,,,,,,", ",Bo,,,,,,,"])
    with pytest.raises(EnrolmentError) as caught, session_scope(gen.engine) as session:
        import_csv(session, session.get(Site, site.id), half, user_id=None)
    assert {row for row, _, _ in caught.value.problems} == {3}


def test_import_command(runner, gen, tmp_path):
    site = gen.site()
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "\nC1,Ann,07400 111111,yes,2027-02-01,kyphoplasty,T12,lytic,bipolar\n")
    result = runner.invoke(args=["import-patients", str(good), "--site", site.code])
    assert result.exit_code == 0, result.output
    assert "Enrolled 1" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\nC2,Ann,07400 111111,yes,2027-02-01,kyphoplasty,Q1,lytic,bipolar\n")
    result = runner.invoke(args=["import-patients", str(bad), "--site", site.code])
    assert result.exit_code == 1
    assert "row 2, column levels: Give the treated vertebral levels" in result.output


def test_create_user_command(runner, gen):
    site = gen.site()
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "New@Example.org",
            "--name",
            "New Nurse",
            "--role",
            "nurse",
            "--site",
            site.code,
            "--password",
            "a long password",
        ]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "x@example.org",
            "--name",
            "X",
            "--role",
            "nurse",
            "--password",
            "a long password",
        ]
    )
    assert result.exit_code != 0
    assert "must belong to a site" in result.output


def test_a_nurse_never_sees_another_sites_patient(client, auth, gen):
    site_a, site_b = gen.site(), gen.site()
    nurse_a = gen.user(site_a)
    theirs = gen.patient(site_b)
    ours = gen.patient(site_a)
    auth.login(nurse_a.email)
    assert client.get(f"/patients/{theirs.patient.id}").status_code == 404
    assert client.get(f"/patients/{ours.patient.id}").status_code == 200
    listing = client.get("/patients/").data.decode()
    assert ours.patient.study_id in listing and theirs.patient.study_id not in listing
    found = client.get(f"/patients/?q={theirs.patient.study_id}").data.decode()
    assert f"/patients/{theirs.patient.id}" not in found
    assert "No patients" in found
    with Session(gen.engine) as session:
        logged = session.exec(select(AccessLog)).all()
    assert [(entry.action, entry.patient_id) for entry in logged] == [
        ("view_patient", ours.patient.id)
    ]


def test_a_nurse_moves_the_procedure_date_and_stops_follow_up(client, auth, gen):
    site = gen.site()
    enrolled = gen.patient(site, procedure_date=date(2027, 3, 1))
    auth.login(gen.user(site).email)
    path = f"/patients/{enrolled.patient.id}"
    assert (
        client.post(f"{path}/procedure-date", data={"procedure_date": "2027-03-08"}).status_code
        == 302
    )
    with Session(gen.engine) as session:
        assert session.get(Procedure, enrolled.procedure.id).procedure_date == date(2027, 3, 8)
    client.post(f"{path}/stop", data={"reason": "withdrew", "note": "moved away", "confirm": "y"})
    with Session(gen.engine) as session:
        patient = session.get(Patient, enrolled.patient.id)
        statuses = {i.status for i in session.exec(select(SurveyInstance))}
    assert patient.status == "stopped" and "moved away" in patient.status_reason
    assert statuses == {"cancelled"}


def test_a_date_moved_back_says_which_surveys_will_not_be_sent_and_why(client, auth, gen, clock):
    """Moved 90 days back before any text went: the windows up to week 4 have closed by
    the new date. They are not counted as re-planned, and their reason says what closed
    them."""
    now = datetime(2027, 3, 1, 11, 0, tzinfo=UTC)
    clock.move_to(now)
    site = gen.site()
    enrolled = gen.patient(site, now=now, procedure_date=date(2027, 3, 8))
    auth.login(gen.user(site).email)
    response = client.post(
        f"/patients/{enrolled.patient.id}/procedure-date",
        data={"procedure_date": "2026-12-01"},
        follow_redirects=True,
    )
    with Session(gen.engine) as session:
        passed = session.exec(
            select(SurveyInstance).where(
                SurveyInstance.status_reason == "window had closed by the new procedure date"
            )
        ).all()
    assert sorted(i.timepoint for i in passed) == ["baseline", "day1", "week1", "week2", "week4"]
    assert "3 surveys not yet sent were re-planned" in response.text
    assert "5 surveys not yet sent will not be sent: the window had closed" in response.text


def test_another_sites_nurse_cannot_act_on_a_patient(client, auth, gen):
    theirs = gen.patient(gen.site(), procedure_date=date(2027, 3, 1))
    auth.login(gen.user(gen.site()).email)
    path = f"/patients/{theirs.patient.id}"
    assert (
        client.post(f"{path}/procedure-date", data={"procedure_date": "2027-03-08"}).status_code
        == 404
    )
    assert client.post(f"{path}/stop", data={"reason": "died"}).status_code == 404
    with Session(gen.engine) as session:
        assert session.get(Patient, theirs.patient.id).status == "active"
