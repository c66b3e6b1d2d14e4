"""Staff pages and on-call texts show the site's local time with its abbreviation."""

from datetime import UTC, date, datetime

from pro_app.local_time import local_date, local_time


def test_winter_and_summer_times_carry_their_abbreviation():
    winter = datetime(2027, 1, 10, 23, 30, tzinfo=UTC)
    summer = datetime(2027, 7, 10, 23, 30, tzinfo=UTC)
    assert local_time(winter, "Europe/London") == "10 Jan 2027, 23:30 GMT"
    assert local_time(summer, "Europe/London") == "11 Jul 2027, 00:30 BST"
    assert local_time(summer, "Europe/London", with_date=False) == "00:30 BST"


def test_naive_times_from_the_database_are_read_as_utc():
    assert local_time(datetime(2027, 7, 10, 12, 0), "Europe/London") == "10 Jul 2027, 13:00 BST"


def test_an_unknown_zone_falls_back_to_the_default_rather_than_failing():
    assert local_time(datetime(2027, 1, 10, 9, 5, tzinfo=UTC), "Mars/Olympus") == (
        "10 Jan 2027, 09:05 GMT"
    )


def test_dates_move_into_the_zone_only_when_they_are_moments():
    assert local_date(date(2027, 3, 1)) == "1 Mar 2027"
    late_evening = datetime(2027, 7, 31, 23, 30, tzinfo=UTC)
    assert local_date(late_evening, "Europe/London") == "1 Aug 2027"
    assert local_time(None, "Europe/London") == ""
