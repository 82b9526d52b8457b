"""Shift calendars: instances, breaks, holidays, DST nights, forward-only versions."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from mes.performance.calendar import (
    Break,
    CalendarError,
    CalendarVersion,
    Shift,
    ShiftCalendar,
    from_shift_ends,
    next_shift_end,
    planned_times,
    shift_at,
    shift_instances,
)
from tests.performance.plant import (
    EARLY,
    EPOCH,
    LATE,
    local,
    minutes,
    night_on_saturdays,
    two_shifts,
)

TUESDAY = date(2026, 3, 3)


def test_two_shifts_of_a_weekday() -> None:
    instances = shift_instances(two_shifts(), local(TUESDAY, 0), local(TUESDAY + timedelta(1), 0))
    assert [(i.name, i.start, i.end) for i in instances] == [
        ("early", local(TUESDAY, 6), local(TUESDAY, 14)),
        ("late", local(TUESDAY, 14), local(TUESDAY, 22)),
    ]
    assert instances[0].breaks == ((local(TUESDAY, 10), local(TUESDAY, 10, 30)),)
    # POT = 2 x 8 h = 960 min; PDT = 2 x 30 min.
    pot, pdt = planned_times(two_shifts(), local(TUESDAY, 0), local(TUESDAY + timedelta(1), 0))
    assert (pot, pdt) == (minutes(960), minutes(60))


def test_range_clips_shifts_and_breaks() -> None:
    # 10:15 to 15:00: early shift 10:15-14:00 (225 min) with 15 min of its break, late 60 min.
    pot, pdt = planned_times(two_shifts(), local(TUESDAY, 10, 15), local(TUESDAY, 15))
    assert (pot, pdt) == (minutes(225 + 60), minutes(15))


def test_weekend_and_holidays_have_no_shifts() -> None:
    saturday = date(2026, 3, 7)
    assert shift_instances(two_shifts(), local(saturday, 0), local(saturday, 23)) == []
    calendar = two_shifts(holidays=frozenset({TUESDAY}))
    assert shift_instances(calendar, local(TUESDAY, 0), local(TUESDAY, 23)) == []
    wednesday = shift_instances(calendar, local(TUESDAY, 0), local(TUESDAY + timedelta(2), 0))
    assert {i.local_date for i in wednesday} == {TUESDAY + timedelta(1)}


def test_night_shift_over_spring_forward_lasts_seven_hours() -> None:
    # Europe/Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST.
    # 22:00 CET = 21:00 UTC; 06:00 CEST = 04:00 UTC -> 7 h of real time.
    saturday = date(2026, 3, 28)
    [night] = shift_instances(
        night_on_saturdays(), local(saturday, 12), local(saturday, 12) + timedelta(days=1)
    )
    assert night.start == datetime(2026, 3, 28, 21, tzinfo=UTC)
    assert night.end == datetime(2026, 3, 29, 4, tzinfo=UTC)
    assert night.duration == timedelta(hours=7)
    assert night.breaks == (
        (datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 28, 23, 30, tzinfo=UTC)),
    )


def test_night_shift_over_fall_back_lasts_nine_hours() -> None:
    # 25 October 2026: 03:00 CEST becomes 02:00 CET. 22:00 CEST = 20:00 UTC; 06:00 CET = 05:00 UTC.
    saturday = date(2026, 10, 24)
    [night] = shift_instances(
        night_on_saturdays(), local(saturday, 12), local(saturday, 12) + timedelta(days=1)
    )
    assert night.duration == timedelta(hours=9)
    assert (night.start, night.end) == (
        datetime(2026, 10, 24, 20, tzinfo=UTC),
        datetime(2026, 10, 25, 5, tzinfo=UTC),
    )


def test_break_in_the_skipped_hour_keeps_its_length() -> None:
    # 02:00-02:30 does not exist on 29 March; read with the offset before the change (CET),
    # it lands at 01:00-01:30 UTC (03:00-03:30 CEST) and still lasts 30 min.
    shift = Shift("night", time(22), time(6), frozenset({5}), (Break(time(2), time(2, 30)),))
    calendar = ShiftCalendar((CalendarVersion(EPOCH, "Europe/Berlin", (shift,)),))
    [night] = shift_instances(
        calendar, datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC)
    )
    assert night.breaks == (
        (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
    )


def test_edits_apply_forward_only() -> None:
    # From Wednesday 12:00 the early shift ends at 12:00 (no late shift).
    short = Shift("early", time(6), time(12), frozenset(range(5)))
    change = local(TUESDAY + timedelta(1), 12)
    calendar = two_shifts().edited(CalendarVersion(change, "Europe/Berlin", (short,)), now=change)
    # Tuesday is untouched: 960 min.
    assert planned_times(calendar, local(TUESDAY, 0), local(TUESDAY, 23))[0] == minutes(960)
    # Wednesday: old version until 12:00 (early 06:00-12:00 = 360 min, break 30),
    # new version after 12:00 (nothing left that day).
    wed = TUESDAY + timedelta(1)
    assert planned_times(calendar, local(wed, 0), local(wed, 23)) == (minutes(360), minutes(30))
    # Thursday: new version only: 06:00-12:00 without break.
    thu = TUESDAY + timedelta(2)
    assert planned_times(calendar, local(thu, 0), local(thu, 23)) == (minutes(360), minutes(0))
    with pytest.raises(CalendarError, match="forward only"):
        calendar.edited(CalendarVersion(change, "Europe/Berlin", (short,)))
    with pytest.raises(CalendarError, match="forward only"):
        two_shifts().edited(
            CalendarVersion(change, "Europe/Berlin", (short,)), now=change + minutes(1)
        )


def test_shift_at_and_next_shift_end() -> None:
    calendar = two_shifts()
    at = shift_at(calendar, local(TUESDAY, 15))
    assert at is not None
    assert (at.name, at.start, at.end) == (
        "late",
        local(TUESDAY, 14),
        local(TUESDAY, 22),
    )
    assert shift_at(calendar, local(TUESDAY, 14)).name == "late"  # type: ignore[union-attr]
    assert shift_at(calendar, local(TUESDAY, 22)) is None
    assert shift_at(calendar, EPOCH - timedelta(days=1)) is None
    assert next_shift_end(calendar, local(TUESDAY, 15)) == local(TUESDAY, 22)
    assert next_shift_end(calendar, local(TUESDAY, 14)) == local(TUESDAY, 22)
    # Friday 23:00 -> Monday's early shift ends at 14:00.
    friday = date(2026, 3, 6)
    assert next_shift_end(calendar, local(friday, 23)) == local(friday + timedelta(3), 14)
    saturday = date(2026, 3, 28)
    assert next_shift_end(night_on_saturdays(), local(saturday, 23)) == datetime(
        2026, 3, 29, 4, tzinfo=UTC
    )


def test_next_shift_end_without_any_shift() -> None:
    calendar = two_shifts(holidays=frozenset(date(2026, 1, 1) + timedelta(d) for d in range(40)))
    assert next_shift_end(calendar, EPOCH, horizon=timedelta(days=20)) is None


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: Shift("x", time(6), time(14), breaks=(Break(time(15), time(16)),)),
            "not inside the shift",
        ),
        (
            lambda: Shift(
                "x",
                time(6),
                time(14),
                breaks=(Break(time(9), time(10)), Break(time(9, 30), time(11))),
            ),
            "overlaps another",
        ),
        (lambda: Shift("x", time(6), time(14), weekdays=frozenset({7})), "weekdays"),
        (lambda: Shift("", time(6), time(14)), "name is empty"),
        (lambda: CalendarVersion(EPOCH, "Mars/Olympus", (EARLY,)), "unknown time zone"),
        (lambda: CalendarVersion(datetime(2026, 1, 1), "UTC", (EARLY,)), "timezone-aware"),
        (lambda: ShiftCalendar(()), "no versions"),
        (
            lambda: ShiftCalendar(
                (CalendarVersion(EPOCH, "UTC", (EARLY,)), CalendarVersion(EPOCH, "UTC", (LATE,)))
            ),
            "strictly increasing",
        ),
    ],
)
def test_bad_calendars_are_refused(build: object, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        build()  # type: ignore[operator]


def test_overlapping_shifts_are_refused_when_used() -> None:
    overlapping = Shift("middle", time(12), time(16), frozenset(range(5)))
    calendar = ShiftCalendar((CalendarVersion(EPOCH, "Europe/Berlin", (EARLY, overlapping)),))
    with pytest.raises(CalendarError, match="overlaps shift"):
        planned_times(calendar, local(TUESDAY, 0), local(TUESDAY, 23))


def test_legacy_shift_ends_become_a_calendar_version() -> None:
    version = from_shift_ends([time(14), time(6), time(22)], "Europe/Berlin", EPOCH)
    assert [s.name for s in version.shifts] == ["06:00-14:00", "14:00-22:00", "22:00-06:00"]
    calendar = ShiftCalendar((version,))
    # Every day is covered: 24 h of POT, no breaks (23 h on the spring-forward day).
    assert planned_times(calendar, local(TUESDAY, 6), local(TUESDAY + timedelta(1), 6)) == (
        timedelta(hours=24),
        timedelta(0),
    )
    sunday = date(2026, 3, 29)
    assert planned_times(calendar, local(sunday, 0), local(sunday + timedelta(1), 0))[
        0
    ] == timedelta(hours=23)
    single = ShiftCalendar((from_shift_ends([time(6)], "UTC", EPOCH),))
    at = shift_at(single, EPOCH + timedelta(days=3, hours=7))
    assert at is not None
    assert at.duration == timedelta(hours=24)
    with pytest.raises(CalendarError, match="at least one"):
        from_shift_ends([], "UTC", EPOCH)


def test_empty_break_is_refused() -> None:
    with pytest.raises(CalendarError, match="is empty"):
        Shift("x", time(6), time(14), breaks=(Break(time(9), time(9)),))
