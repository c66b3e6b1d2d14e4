"""A new site as the README sets it up: its own protocol, patients from the example CSV."""

from pathlib import Path

from sqlmodel import Session, select

from pro_app.models import Procedure, Site, SurveyInstance

EXAMPLE_CSV = Path(__file__).resolve().parent.parent / "docs" / "patients-example.csv"

SHORT_PROTOCOL = """\
id: leeds_short
version: "1.0"
title: "Three timepoints"
source: "a site's own protocol"
timepoints:
  - id: baseline
    label: "Before the procedure"
    anchor: enrolment
    reminder_hours: [24]
    instruments: [pain_nrs, red_flags, analgesic_use]
  - id: week2
    label: "Week 2"
    offset_days: 14
    days_before: 2
    days_after: 2
    reminder_hours: [24]
    instruments: [pain_nrs, red_flags, analgesic_use]
  - id: week6
    label: "Week 6"
    offset_days: 42
    days_before: 3
    days_after: 3
    reminder_hours: [24]
    instruments: [pain_nrs, red_flags, analgesic_use]
"""


def test_a_site_with_its_own_protocol_enrols_the_example_csv(runner, engine, tmp_path, monkeypatch):
    folder = tmp_path / "site-protocols"
    folder.mkdir()
    (folder / "leeds_short.yaml").write_text(SHORT_PROTOCOL)
    monkeypatch.setenv("PRO_PROTOCOLS_DIR", str(folder))
    checked = runner.invoke(args=["instruments", "validate", str(folder / "leeds_short.yaml")])
    assert "protocol leeds_short is valid (3 timepoints)" in checked.output, checked.output

    created = runner.invoke(
        args=["create-site", "--code", "LEEDS", "--name", "Spine", "--phone", "0113 496 0000"]
    )
    assert created.exit_code == 0, created.output
    unknown = runner.invoke(args=["set-protocol", "--site", "LEEDS", "no_such_protocol"])
    assert unknown.exit_code != 0 and "no protocol named 'no_such_protocol'" in unknown.output
    chosen = runner.invoke(args=["set-protocol", "--site", "LEEDS", "leeds_short"])
    assert chosen.exit_code == 0, chosen.output

    imported = runner.invoke(args=["import-patients", str(EXAMPLE_CSV), "--site", "LEEDS"])
    assert imported.exit_code == 0, imported.output
    assert "Enrolled 3 patients at LEEDS, 1 of them for the record only." in imported.output
    with Session(engine) as session:
        site = session.exec(select(Site).where(Site.code == "LEEDS")).one()
        assert site.protocol_id == "leeds_short"
        procedures = session.exec(select(Procedure)).all()
        assert {p.protocol_id for p in procedures} == {"leeds_short"}
        timepoints = {i.timepoint for i in session.exec(select(SurveyInstance))}
    assert timepoints == {"baseline", "week2", "week6"}
