"""Send-time rules: local hour, quiet hours and daylight-saving changes (no database)."""

from datetime import UTC, date, datetime, time

from pro_app.messaging.timing import SendPolicy, local_midnight, local_moment

POLICY = SendPolicy()


def test_send_hour_is_local_across_the_spring_change():
    # London moves from GMT to BST on 2027-03-28.
    assert POLICY.send_time_on(date(2027, 3, 27), "Europe/London") == datetime(
        2027, 3, 27, 10, 0, tzinfo=UTC
    )
    assert POLICY.send_time_on(date(2027, 3, 28), "Europe/London") == datetime(
        2027, 3, 28, 9, 0, tzinfo=UTC
    )


def test_send_hour_is_local_across_the_autumn_change():
    # ... and back on 2027-10-31.
    assert POLICY.send_time_on(date(2027, 10, 30), "Europe/London") == datetime(
        2027, 10, 30, 9, 0, tzinfo=UTC
    )
    assert POLICY.send_time_on(date(2027, 10, 31), "Europe/London") == datetime(
        2027, 10, 31, 10, 0, tzinfo=UTC
    )


def test_send_hour_in_another_zone():
    assert POLICY.send_time_on(date(2027, 1, 5), "America/New_York") == datetime(
        2027, 1, 5, 15, 0, tzinfo=UTC
    )


def test_quiet_hours_wait_for_the_morning():
    late = datetime(2027, 1, 5, 22, 30, tzinfo=UTC)  # 22:30 in London in winter
    assert POLICY.next_allowed(late, "Europe/London") == datetime(2027, 1, 6, 8, 0, tzinfo=UTC)
    early = datetime(2027, 1, 6, 6, 0, tzinfo=UTC)
    assert POLICY.next_allowed(early, "Europe/London") == datetime(2027, 1, 6, 8, 0, tzinfo=UTC)
    daytime = datetime(2027, 1, 6, 14, 0, tzinfo=UTC)
    assert POLICY.next_allowed(daytime, "Europe/London") == daytime


def test_quiet_hours_end_in_summer_time():
    late = datetime(2027, 7, 1, 21, 30, tzinfo=UTC)  # 22:30 BST
    assert POLICY.next_allowed(late, "Europe/London") == datetime(2027, 7, 2, 7, 0, tzinfo=UTC)


def test_a_send_time_inside_quiet_hours_moves_to_their_end():
    policy = SendPolicy(send_at=time(6, 0))
    assert policy.send_time_on(date(2027, 1, 5), "Europe/London") == datetime(
        2027, 1, 5, 8, 0, tzinfo=UTC
    )


def test_a_time_in_the_spring_gap_moves_forward():
    # 01:30 does not exist in London on 2027-03-28.
    assert local_moment(date(2027, 3, 28), time(1, 30), "Europe/London") == datetime(
        2027, 3, 28, 1, 30, tzinfo=UTC
    )


def test_local_midnight():
    assert local_midnight(date(2027, 7, 1), "Europe/London") == datetime(
        2027, 6, 30, 23, 0, tzinfo=UTC
    )
