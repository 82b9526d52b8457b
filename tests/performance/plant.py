"""The plant used by the performance tests: Europe/Berlin, early and late shift, night shift."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mes.performance.calendar import Break, CalendarVersion, Shift, ShiftCalendar
from mes.performance.states import Interval, MachineState

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = frozenset(range(5))
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

EARLY = Shift("early", time(6), time(14), WEEKDAYS, (Break(time(10), time(10, 30)),))
LATE = Shift("late", time(14), time(22), WEEKDAYS, (Break(time(18), time(18, 30)),))
NIGHT = Shift("night", time(22), time(6), frozenset({5}), (Break(time(0), time(0, 30)),))


def local(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """A Berlin wall-clock time as an aware UTC datetime (first occurrence when ambiguous)."""
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=BERLIN).astimezone(UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def two_shifts(holidays: frozenset[date] = frozenset()) -> ShiftCalendar:
    return ShiftCalendar((CalendarVersion(EPOCH, "Europe/Berlin", (EARLY, LATE), holidays),))


def night_on_saturdays() -> ShiftCalendar:
    return ShiftCalendar((CalendarVersion(EPOCH, "Europe/Berlin", (NIGHT,)),))


def run(start: datetime, *steps: tuple[float, MachineState]) -> list[Interval]:
    """Back-to-back intervals from `start`, each (minutes, state)."""
    out = []
    for length, state in steps:
        end = start + minutes(length)
        out.append(Interval(start, end, state))
        start = end
    return out
