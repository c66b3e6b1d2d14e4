"""A user's mistake at the command line gets one plain sentence and a non-zero exit, never a
traceback."""

import pytest
from click.testing import CliRunner

from pro_app import enrolment
from pro_app.cli import cli
from pro_app.enrolment import EnrolmentError, import_csv
from pro_app.models import Site
from pro_app.storage.engine import session_scope
from tests.test_enrolment import HEADER


@pytest.fixture
def empty_database(tmp_path, monkeypatch) -> str:
    """An environment whose database file exists but was never migrated."""
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "cli-test")
    return url


def run(*args: str, **env: str):
    return CliRunner().invoke(cli, list(args), env=env or None, catch_exceptions=False)


def said_plainly(result, *words: str) -> None:
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


@pytest.mark.parametrize(
    "args",
    [
        ["seed-demo"],
        ["create-site", "--code", "A", "--name", "Team", "--phone", "0113 496 0000"],
        ["tick"],
        ["scheduler"],
        ["import-patients", "__FILE__", "--site", "A"],
        ["export", "--format", "csv", "--as", "a@example.org", "--out", "__OUT__"],
    ],
)
def test_commands_on_a_database_that_was_never_migrated(args, empty_database, tmp_path):
    csv_file = tmp_path / "patients.csv"
    csv_file.write_text(HEADER + "\n")
    args = [
        str(csv_file) if a == "__FILE__" else str(tmp_path / "out.csv") if a == "__OUT__" else a
        for a in args
    ]
    result = run(*args)
    said_plainly(result, "has no tables: run `pro-app db upgrade`", "empty.sqlite3")


def test_a_database_that_does_not_answer_is_named(empty_database):
    result = run("tick", DATABASE_URL="postgresql://postgres@127.0.0.1:1/nothing")
    said_plainly(result, "Cannot open the database at", "127.0.0.1:1")


def test_a_bad_setting_is_one_sentence(empty_database):
    said_plainly(run("tick", SMS_BACKEND="pigeon"), "SMS_BACKEND must be")


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"PRO_SEND_TIME": "10am"}, "PRO_SEND_TIME must be a time of day as HH:MM"),
        ({"PRO_QUIET_START": "25:00"}, "PRO_QUIET_START must be a time of day"),
        ({"PRO_SEND_TIME": "22:00"}, "PRO_SEND_TIME 22:00 is inside quiet hours (21:00 to 08:00)"),
    ],
)
def test_a_send_time_that_cannot_be_kept_stops_every_command(empty_database, settings, words):
    """Refused at start, not at the first enrolment: an evening send time would put every
    survey off to the next morning, past a window of one day."""
    said_plainly(run("tick", **settings), words)


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--timezone", "Mars/Phobos", "is not a time zone"),
        ("--phone-region", "XX", "is not a region code"),
        ("--phone", "not a phone", "give the number patients should call"),
        ("--code", "A/B", "Use letters, digits, - and _ only"),
        ("--code", "a", "Site A already exists"),  # site A in other capitals
    ],
)
def test_create_site_refuses_what_enrolment_could_not_use(migrated, option, value, words):
    args = {"--code": "B", "--name": "B team", "--phone": "0113 496 0000", option: value}
    result = run("create-site", *[part for pair in args.items() for part in pair])
    said_plainly(result, words)
    assert "Created site" not in result.output


@pytest.mark.parametrize("command", ["seed-demo", "demo"])
def test_the_demo_refuses_to_run_in_production(empty_database, command):
    """Its accounts' passwords are in the README and it serves with a development server."""
    production = {
        "PRO_ENV": "production",
        "SECRET_KEY": "s" * 32,
        "PUBLIC_BASE_URL": "https://pro.example.org",
    }
    said_plainly(run(command, **production), "The demo is not for production")


@pytest.mark.parametrize(
    ("url", "words"),
    [("notaurl", "is not a database address"), ("mysql://u@h/db", "is not a database address")],
)
def test_a_database_address_that_cannot_be_used_is_named(empty_database, url, words):
    said_plainly(run("tick", DATABASE_URL=url), words)


@pytest.fixture
def migrated(empty_database):
    assert run("db", "upgrade").exit_code == 0
    assert (
        run("create-site", "--code", "A", "--name", "T", "--phone", "0113 496 0000").exit_code == 0
    )
    return empty_database


def test_export_into_a_missing_folder(migrated, tmp_path):
    result = run(
        "export",
        "--format",
        "csv",
        "--as",
        "a@example.org",
        "--out",
        str(tmp_path / "no" / "x.csv"),
    )
    said_plainly(result, "does not exist")


def test_create_user_without_a_terminal_says_how_to_give_the_password(migrated):
    args = ["create-user", "--email", "n@example.org", "--name", "N", "--role", "nurse"]
    said_plainly(run(*args, "--site", "A"), "--password", "PRO_NEW_USER_PASSWORD")
    result = run(*args, "--site", "A", PRO_NEW_USER_PASSWORD="a long password")
    assert result.exit_code == 0 and "Created nurse n@example.org" in result.output


def test_import_of_a_file_that_is_not_utf8(migrated, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(HEADER.encode() + "\nA1,Zoë,07400 111111".encode("latin-1"))
    said_plainly(run("import-patients", str(latin), "--site", "A"), "is not UTF-8")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"worst": 5,\n', ["not valid JSON", "line 2"]),
        ("[1, 2]", ["one JSON object"]),
        ('{"worst": 12, "average": 3, "now": 2}', ["worst: Please choose a number from 0 to 10"]),
        ('{"average": 3}', ["Required but not answered: worst, now"]),
        ('{"worst": 3, "average": 3, "now": 2, "mood": 1}', ["There is no question 'mood'"]),
    ],
)
def test_score_names_the_file_the_line_and_the_item(content, words, tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text(content)
    said_plainly(run("score", "pain_nrs", "--answers", str(answers)), *words)


def test_score_of_good_answers_prints_json(tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text('{"worst": 7, "average": 5, "now": 4}')
    result = run("score", "pain_nrs", "--answers", str(answers))
    assert result.exit_code == 0 and '"worst": 7' in result.output


def test_import_lists_every_problem_of_every_row_the_phone_included(gen):
    site = gen.site()
    text = "\n".join(
        [
            HEADER,
            "bad id!,Ann,01134960000,yes,2027-02-30,kyphoplasty,T12,lytic,bipolar",
            "A2,Bob,07400 222222,yes,2027-02-01,kyphoplasty,T12,lytic,bipolar,extra,cells",
            "A3,Cy\x00,07400 333333,yes,2027-02-01,kyphoplasty,T12,lytic,bipolar",
        ]
    )
    with pytest.raises(EnrolmentError) as caught, session_scope(gen.engine) as session:
        import_csv(session, session.get(Site, site.id), text, user_id=None)
    problems = {(row, field) for row, field, _ in caught.value.problems}
    assert {(2, "study_id"), (2, "phone"), (2, "procedure_date")} <= problems
    assert (3, "row") in problems and (4, "first_name") in problems


def test_import_checks_existing_study_ids_in_chunks_and_reports_every_one(gen, monkeypatch):
    """Files larger than a database's parameter limit (65,535 on PostgreSQL) are looked up in
    chunks; a small chunk size shows every chunk is checked."""
    monkeypatch.setattr(enrolment, "LOOKUP_CHUNK", 10)
    site = gen.site()
    for study_id in ("L3", "L17"):
        gen.patient(site, study_id=study_id, phone="07400 900001")
    rows = [
        f"L{n},Ann,07400 {n:06d},yes,2027-02-01,kyphoplasty,T12,lytic,bipolar" for n in range(25)
    ]
    with pytest.raises(EnrolmentError) as caught, session_scope(gen.engine) as session:
        import_csv(session, session.get(Site, site.id), "\n".join([HEADER, *rows]), user_id=None)
    assert [(row, field) for row, field, _ in caught.value.problems] == [
        (5, "study_id"),
        (19, "study_id"),
    ]


def test_create_user_refuses_what_is_not_an_email_address(migrated):
    args = ["--name", "N", "--role", "nurse", "--site", "A", "--password", "a long password"]
    said_plainly(run("create-user", "--email", "notanemail", *args), "is not an email address")


def test_an_export_range_that_runs_backwards_is_refused(migrated, tmp_path):
    out = str(tmp_path / "out.csv")
    args = ["--format", "csv", "--as", "a@example.org", "--out", out]
    result = run("export", *args, "--from", "2027-02-02", "--to", "2027-01-01")
    said_plainly(result, "--from must not be after --to")


def test_an_upgrade_the_data_refuses_is_one_sentence(migrated):
    """Study ids differing only in capitals, from before the rule: the upgrade names them."""
    from sqlalchemy import text

    from pro_app.storage.engine import make_engine

    engine = make_engine(migrated)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0013'"))
        connection.execute(text("DROP INDEX uq_patient_site_id_lower_study_id"))
        for study_id in ("X-1", "x-1"):
            connection.execute(
                text(
                    "INSERT INTO patient (site_id, study_id, first_name, timezone, language,"
                    " consent, channel, status, sms_opted_out, created_at) VALUES (1, :s, 'Jo',"
                    " 'Europe/London', 'en', 1, 'link', 'active', 0, CURRENT_TIMESTAMP)"
                ),
                {"s": study_id},
            )
    engine.dispose()
    said_plainly(run("db", "upgrade"), "differ only in capitals", "site 1: X-1 and x-1")
