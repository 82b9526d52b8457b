"""Dashboard periods resolved in the plant's time zone (pure): today, this week (Monday on),
this month, or a free range."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

PeriodName = Literal["today", "week", "month", "range"]
#: the longest free range a figure is computed over
MAX_RANGE = timedelta(days=400)


class PeriodError(ValueError):
    """The period asked for is not one: the message says why."""


@dataclass(frozen=True, slots=True)
class Period:
    name: str
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_day(self, at: datetime) -> str:
        """The plant's calendar day of `at` (YYYY-MM-DD)."""
        return at.astimezone(self.zone).date().isoformat()


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, zone).astimezone(UTC)


def resolve(
    name: str,
    now: datetime,
    timezone: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Period:
    """The period `name` around `now` (local midnights of the plant's zone), or [start, end)
    for `range`."""
    zone = ZoneInfo(timezone)
    if name == "range":
        if start is None or end is None:
            raise PeriodError("period=range needs both `start` and `end`")
        if start.tzinfo is None or end.tzinfo is None:
            raise PeriodError("`start` and `end` need a UTC offset")
        if end <= start:
            raise PeriodError(f"`end` ({end.isoformat()}) must be after `start`")
        if end - start > MAX_RANGE:
            raise PeriodError(f"a range of at most {MAX_RANGE.days} days")
        return Period(name, start.astimezone(UTC), end.astimezone(UTC), timezone)
    if start is not None or end is not None:
        raise PeriodError("`start` and `end` are only read with period=range")
    today = now.astimezone(zone).date()
    if name == "today":
        first, last = today, today + timedelta(days=1)
    elif name == "week":
        first = today - timedelta(days=today.weekday())
        last = first + timedelta(days=7)
    elif name == "month":
        first = today.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1)
    else:
        raise PeriodError(f"unknown period {name!r}: today, week, month or range")
    return Period(name, _midnight(first, zone), _midnight(last, zone), timezone)
