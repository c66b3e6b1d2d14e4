"""Download names carry the date and the filters, in safe characters only."""

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from pro_app.audit.export_names import export_filename
from pro_app.audit.jobs import WorkerSettings, work_once
from pro_app.audit.timelines import AuditFilters
from pro_app.models import ExportJob

from .answering import NOW


@pytest.fixture(autouse=True)
def _audit_day(clock):
    clock.move_to(NOW)


def test_a_name_keeps_only_letters_digits_and_hyphens():
    filters = AuditFilters(
        augmentation="kyphoplasty",
        lesion_type="lytic",
        date_from=date(2027, 1, 1),
        date_to=date(2027, 3, 31),
    )
    name = export_filename("patients", "xlsx", filters, "St Mary's/../2", date(2027, 6, 1))
    assert name == (
        "pro-app-audit-patients-2027-06-01-site-St-Mary-s-2-kyphoplasty-lytic"
        "-from-2027-01-01-to-2027-03-31.xlsx"
    )
    everything = export_filename("patients", "fhir", AuditFilters(), None, date(2027, 6, 1))
    assert everything == "pro-app-audit-patients-fhir-2027-06-01.json"
    bulk = export_filename("patients", "ndjson", AuditFilters(), "LEEDS", date(2027, 6, 1))
    assert bulk == "pro-app-audit-patients-fhir-ndjson-2027-06-01-site-LEEDS.zip"
    long = export_filename("aggregate", "csv", AuditFilters(), "X" * 400, date(2027, 6, 1))
    assert len(long) == 150 + len(".csv") and long.endswith("XX.csv")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "aggregate.csv?procedure=kyphoplasty",
            "pro-app-audit-aggregate-2027-06-01-site-LEEDS-kyphoplasty.csv",
        ),
        (
            "patients.csv?from=2027-01-01&electrode=bipolar",
            "pro-app-audit-patients-2027-06-01-site-LEEDS-bipolar-from-2027-01-01.csv",
        ),
    ],
)
def test_downloads_are_named_by_date_and_filters(client, auth, gen, path, expected):
    site = gen.site(code="LEEDS")
    gen.site(code="YORK")
    auditor = gen.user(site, role="auditor")
    auth.login(auditor.email)
    download = client.get(f"/audit/export/{path}")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == f'attachment; filename="{expected}"'


def test_a_registry_download_names_the_site_chosen(client, auth, gen):
    site = gen.site(code="YORK")
    auth.login(gen.user(None, role="auditor").email)
    download = client.get(f"/audit/export/aggregate.xlsx?site={site.id}&lesion=Lytic")
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="pro-app-audit-aggregate-2027-06-01-site-YORK-lytic.xlsx"'
    )


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("procedure=kyfoplasty", "procedure “kyfoplasty” is not one of: kyphoplasty"),
        ("lesion=nonsense", "lesion “nonsense” is not one of"),
        ("electrode=x", "electrode “x” is not one of"),
        ("site=leeds", "site “leeds” is not a site"),
        ("site=99999999999999999999", "is not a site"),
    ],
)
def test_a_filter_that_is_not_a_choice_is_named_not_dropped(client, auth, gen, query, named):
    """Dropped, it would make a page or a file cover more than was asked for."""
    auth.login(gen.user(None, role="auditor").email)
    for path in ("/audit/", "/audit/export/aggregate.csv", "/audit/export/patients.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert named in response.text.replace("&#34;", '"')
    assert (
        client.post(f"/audit/jobs?{query}", data={"level": "patients", "fmt": "fhir"}).status_code
        == 400
    )


def test_a_background_download_is_named_by_the_day_it_was_asked_and_its_filters(
    app, client, auth, gen, engine
):
    site = gen.site(code="LEEDS")
    auth.login(gen.user(site, role="auditor").email)
    asked = client.post("/audit/jobs?electrode=bipolar", data={"level": "patients", "fmt": "fhir"})
    assert asked.status_code == 303
    folder = app.extensions["pro_settings"].export_folder
    work_once(
        engine, WorkerSettings(folder, timedelta(hours=24), "test-secret"), lambda: NOW, "worker-1"
    )
    with Session(engine) as session:
        job = session.exec(select(ExportJob)).one()
    download = client.get(f"/audit/jobs/{job.id}/download")
    assert download.headers["Content-Disposition"].replace('"', "") == (
        "attachment; filename=pro-app-audit-patients-fhir-2027-06-01-site-LEEDS-bipolar.json"
    )
