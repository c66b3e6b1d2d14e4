"""Each timepoint keeps the conversion table (and version) of its OMED, and migration
0007 copies it from the answers stored before the columns existed."""

from alembic import command
from sqlmodel import Session

from pro_app.migrate import alembic_config, upgrade
from pro_app.models import SurveyInstance
from tests.app.test_key_outcomes import (  # noqa: F401 (the fixture)
    ENROLLED,
    PROCEDURE,
    answer_baseline,
    own_database,
)
from tests.factories import Factory


def provenance(engine, instance_id: int) -> tuple:
    with Session(engine) as session:
        instance = session.get(SurveyInstance, instance_id)
        return instance.omed_table, instance.omed_table_version, instance.omed_implausible


def test_saving_records_the_table_and_the_migration_copies_it(own_database):
    engine = own_database
    factory = Factory(engine)
    site = factory.site(omed_table="cdc_2022")
    patient = factory.patient(site, now=ENROLLED, procedure_date=PROCEDURE).patient
    instance_id = answer_baseline(engine, patient.id)
    assert provenance(engine, instance_id) == ("cdc_2022", "2022", False)
    config = alembic_config(engine)
    with engine.begin() as connection:  # back to before the columns existed
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    upgrade(engine)
    # the table and version come back from the stored scores; the plausibility flag was
    # not stored before, so it stays unknown
    assert provenance(engine, instance_id) == ("cdc_2022", "2022", None)
