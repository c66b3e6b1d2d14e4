"""How long the CSV import takes to check and to enrol a hospital's file.

Usage: ``.venv/bin/python benchmarks/import_check.py [--rows 2000]``

Builds a file of ROWS patients as a site would export it (procedures spread over the last
two years, so a third are past their follow-up and enrolled for the record only), then on
a fresh, migrated SQLite database:

- checks a copy with one mistake every 50 rows: every row is validated, every study id
  looked up, and nothing is stored; prints the seconds and the problems listed;
- imports the clean file: every row checked, enrolled and its surveys planned; prints the
  seconds and rows a second.

Target: a file of a few thousand rows is checked and imported in well under the time a
web request may take (30 s), every problem listed in one pass.
"""

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import select  # noqa: E402

from pro_app.enrolment import EnrolmentError, import_csv  # noqa: E402
from pro_app.models import Site  # noqa: E402
from pro_app.scheduling.plan import follow_up_ends_at  # noqa: E402
from pro_app.storage.engine import make_engine, session_scope  # noqa: E402
from pro_app.storage.migrate import upgrade  # noqa: E402

NOW = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
HEADER = (
    "study_id,first_name,phone,timezone,language,consent,channel,procedure_date,"
    "augmentation,levels,lesion_type,electrode,record_only"
)


def rows(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        day = NOW.date() - timedelta(days=rng.randint(0, 730))
        zone = rng.choice(["", "Europe/London", "Europe/Dublin"])
        past = follow_up_ends_at("default", day, zone or "Europe/London") <= NOW
        lines.append(
            ",".join(
                [
                    f"RFA-{i:06d}",
                    rng.choice(["Ann", "Bob", "Cath", "Dev", "Eira"]),
                    f"07400 {100000 + i:06d}",
                    zone,
                    "en",
                    "yes",
                    rng.choice(["link", "sms"]),
                    day.isoformat(),
                    rng.choice(["kyphoplasty", "vertebroplasty"]),
                    rng.choice(["T12", '"T12, L1"', "L2"]),
                    rng.choice(["lytic", "blastic", "mixed"]),
                    rng.choice(["bipolar", "monopolar"]),
                    "yes" if past else "",
                ]
            )
        )
    return lines


def with_mistakes(lines: list[str]) -> list[str]:
    spoiled = list(lines)
    for i in range(0, len(spoiled), 50):
        spoiled[i] = spoiled[i].replace(",yes,", ",,", 1)  # consent left empty
    return spoiled


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    count = parser.parse_args().rows
    lines = rows(count)
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / f'{uuid.uuid4().hex}.sqlite3'}")
        upgrade(engine)
        with session_scope(engine) as session:
            session.add(Site(code="B", name="Bench", team_phone="0113 496 0000"))
        bad = "\n".join([HEADER, *with_mistakes(lines)])
        started = time.perf_counter()
        try:
            with session_scope(engine) as session:
                site = session.exec(select(Site)).one()
                import_csv(session, site, bad, user_id=None, now=NOW)
        except EnrolmentError as exc:
            listed = len(exc.problems)
        else:
            raise SystemExit("the spoiled file was imported")
        checked = time.perf_counter() - started
        print(f"check {count} rows with mistakes: {checked:.2f} s, {listed} problems listed")
        started = time.perf_counter()
        with session_scope(engine) as session:
            site = session.exec(select(Site)).one()
            enrolled = import_csv(session, site, "\n".join([HEADER, *lines]), now=NOW, user_id=None)
        took = time.perf_counter() - started
        record_only = sum(e.record_only for e in enrolled)
        print(
            f"import {len(enrolled)} rows ({record_only} for the record only): {took:.2f} s, "
            f"{len(enrolled) / took:.0f} rows/s"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
