"""Shift calendars of a work centre: shifts, breaks, holidays, the plant's time zone, versions.

Shifts and breaks are written in local wall-clock time; every instance is resolved to UTC
through the plant's IANA zone, so a night shift from 22:00 to 06:00 lasts 7 h of real time over
the spring-forward night and 9 h over the fall-back night. A local time that does not exist
(skipped by spring-forward) is read with the offset in force before the change; an ambiguous one
(repeated by fall-back) means its first occurrence.

A calendar is a list of versions; version k applies to instants from its `valid_from` to the
next version's `valid_from`, so an edit never changes the past. A shift instance that straddles
a `valid_from` is cut there: each version counts its own part.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ALL_DAYS = frozenset(range(7))
_END = datetime.max.replace(tzinfo=UTC)


class CalendarError(ValueError):
    """A calendar that cannot be used, named by the part at fault."""


def _require_aware(name: str, instant: datetime) -> None:
    if instant.tzinfo is None:
        raise CalendarError(f"{name} must be timezone-aware, got {instant}")


def _after(start: datetime, clock: time) -> datetime:
    """The first local wall-clock `clock` at or after the naive local datetime `start`."""
    candidate = datetime.combine(start.date(), clock)
    return candidate if candidate >= start else candidate + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Break:
    """Planned downtime inside a shift, in local time (may cross midnight within a night shift)."""

    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Shift:
    """A shift from `start` to `end` local time (crosses midnight when end <= start).

    `weekdays` are the days (0 = Monday) on which the shift STARTS.
    """

    name: str
    start: time
    end: time
    weekdays: frozenset[int] = ALL_DAYS
    breaks: tuple[Break, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            raise CalendarError("shift: name is empty")
        if not self.weekdays or not self.weekdays <= ALL_DAYS:
            raise CalendarError(f"shift {self.name!r}: weekdays must be a non-empty subset of 0..6")
        span = self.local_span(date(2000, 1, 3))
        spans = sorted(
            ((self.break_span(span[0], brk), brk) for brk in self.breaks), key=lambda p: p[0]
        )
        previous_end = span[0]
        for (b_start, b_end), brk in spans:
            if not (span[0] <= b_start and b_end <= span[1]):
                raise CalendarError(
                    f"shift {self.name!r}: break {brk.start}-{brk.end} is not inside the shift"
                    f" {self.start}-{self.end}"
                )
            if b_start == b_end:
                raise CalendarError(f"shift {self.name!r}: break {brk.start}-{brk.end} is empty")
            if b_start < previous_end:
                raise CalendarError(
                    f"shift {self.name!r}: break {brk.start}-{brk.end} overlaps another"
                )
            previous_end = b_end

    def local_span(self, day: date) -> tuple[datetime, datetime]:
        """Naive local start and end of the instance starting on `day`."""
        start = datetime.combine(day, self.start)
        end = datetime.combine(day, self.end)
        if end <= start:
            end += timedelta(days=1)
        return start, end

    @staticmethod
    def break_span(shift_start: datetime, brk: Break) -> tuple[datetime, datetime]:
        """Naive local start and end of `brk` in the instance starting at `shift_start`."""
        b_start = _after(shift_start, brk.start)
        b_end = _after(b_start, brk.end)
        return b_start, b_end


@dataclass(frozen=True, slots=True)
class ShiftInstance:
    """One occurrence of a shift, in UTC; `breaks` are (start, end) UTC pairs inside it."""

    name: str
    local_date: date  # the local date on which the shift starts
    start: datetime
    end: datetime
    breaks: tuple[tuple[datetime, datetime], ...] = ()

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def clipped(self, start: datetime, end: datetime) -> ShiftInstance | None:
        lo, hi = max(self.start, start), min(self.end, end)
        if lo >= hi:
            return None
        kept = tuple(
            (max(b0, lo), min(b1, hi)) for b0, b1 in self.breaks if max(b0, lo) < min(b1, hi)
        )
        return ShiftInstance(self.name, self.local_date, lo, hi, kept)


@dataclass(frozen=True, slots=True)
class CalendarVersion:
    valid_from: datetime
    timezone: str
    shifts: tuple[Shift, ...]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        _require_aware("calendar version valid_from", self.valid_from)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError(
                f"calendar version from {self.valid_from}: unknown time zone {self.timezone!r}"
            ) from exc

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _to_utc(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone, fold=0).astimezone(UTC)

    def instances(self, start: datetime, end: datetime) -> Iterator[ShiftInstance]:
        """Unclipped shift instances of this version that overlap [start, end)."""
        first = start.astimezone(self.zone).date() - timedelta(days=2)
        last = end.astimezone(self.zone).date()
        day = first
        while day <= last:
            if day not in self.holidays:
                for shift in self.shifts:
                    if day.weekday() not in shift.weekdays:
                        continue
                    local_start, local_end = shift.local_span(day)
                    inst = ShiftInstance(
                        shift.name,
                        day,
                        self._to_utc(local_start),
                        self._to_utc(local_end),
                        tuple(
                            (self._to_utc(b0), self._to_utc(b1))
                            for b0, b1 in (
                                Shift.break_span(local_start, brk) for brk in shift.breaks
                            )
                        ),
                    )
                    if inst.start < end and inst.end > start:
                        yield inst
            day += timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ShiftCalendar:
    """The versions of one work centre's calendar, ordered by `valid_from`."""

    versions: tuple[CalendarVersion, ...]

    def __post_init__(self) -> None:
        if not self.versions:
            raise CalendarError("shift calendar: no versions")
        starts = [v.valid_from for v in self.versions]
        if any(a >= b for a, b in itertools.pairwise(starts)):
            raise CalendarError("shift calendar: versions must have strictly increasing valid_from")

    def edited(self, version: CalendarVersion, *, now: datetime | None = None) -> ShiftCalendar:
        """A new calendar with `version` applying from its valid_from on (forward only)."""
        if now is not None and version.valid_from < now:
            raise CalendarError(
                f"calendar edit from {version.valid_from}: edits apply forward only, not before"
                f" now ({now})"
            )
        if version.valid_from <= self.versions[-1].valid_from:
            raise CalendarError(
                f"calendar edit from {version.valid_from}: edits apply forward only, after"
                f" {self.versions[-1].valid_from}"
            )
        return ShiftCalendar((*self.versions, version))

    def local_midnights(self, start: datetime, end: datetime) -> list[datetime]:
        """The local midnights strictly inside (start, end), in the zone of the version that
        governs each (the day boundaries reports are cut at)."""
        out: list[datetime] = []
        for version, lo, hi, _upto in self._spans(start, end):
            day = lo.astimezone(version.zone).date() + timedelta(days=1)
            while (at := version._to_utc(datetime.combine(day, time()))) < hi:
                if at > lo:
                    out.append(at)
                day += timedelta(days=1)
        return out

    def _spans(
        self, start: datetime, end: datetime
    ) -> Iterator[tuple[CalendarVersion, datetime, datetime, datetime]]:
        """(version, part of [start, end) it governs, end of its validity) for each version."""
        for i, version in enumerate(self.versions):
            upto = self.versions[i + 1].valid_from if i + 1 < len(self.versions) else _END
            lo, hi = max(start, version.valid_from), min(end, upto)
            if lo < hi:
                yield version, lo, hi, upto


def _cut_instances(calendar: ShiftCalendar, start: datetime, end: datetime) -> list[ShiftInstance]:
    """Instances overlapping [start, end), cut at version changes only, checked for overlap."""
    _require_aware("range start", start)
    _require_aware("range end", end)
    out: list[ShiftInstance] = []
    for version, lo, hi, upto in calendar._spans(start, end):
        for inst in version.instances(lo, hi):
            cut = inst.clipped(version.valid_from, upto)
            if cut is not None:
                out.append(cut)
    out.sort(key=lambda inst: inst.start)
    for before, after in itertools.pairwise(out):
        if after.start < before.end:
            raise CalendarError(
                f"shift {before.name!r} of {before.local_date} overlaps shift {after.name!r}"
                f" of {after.local_date}"
            )
    return out


def shift_instances(calendar: ShiftCalendar, start: datetime, end: datetime) -> list[ShiftInstance]:
    """Shift instances in [start, end), clipped to the range and to their version, by start."""
    out = []
    for inst in _cut_instances(calendar, start, end):
        clipped = inst.clipped(start, end)
        if clipped is not None:
            out.append(clipped)
    return out


def planned_times(
    calendar: ShiftCalendar, start: datetime, end: datetime
) -> tuple[timedelta, timedelta]:
    """(planned operation time POT, planned downtime PDT) of the calendar in [start, end)."""
    pot = pdt = timedelta(0)
    for inst in shift_instances(calendar, start, end):
        pot += inst.duration
        pdt += sum((b1 - b0 for b0, b1 in inst.breaks), timedelta(0))
    return pot, pdt


def shift_at(calendar: ShiftCalendar, instant: datetime) -> ShiftInstance | None:
    """The shift instance holding `instant` (whole, but cut where the calendar version changes)."""
    for inst in _cut_instances(calendar, instant, instant + timedelta(microseconds=1)):
        if inst.start <= instant < inst.end:
            return inst
    return None


def next_shift_end(
    calendar: ShiftCalendar, instant: datetime, *, horizon: timedelta = timedelta(days=366)
) -> datetime | None:
    """The first shift end strictly after `instant`, looking at most `horizon` ahead."""
    step = timedelta(days=7)
    lo = instant
    while lo < instant + horizon:
        ends = [i.end for i in _cut_instances(calendar, lo, lo + step) if i.end > instant]
        if ends:
            return min(ends)
        lo += step
    return None


def from_shift_ends(ends: Sequence[time], timezone: str, valid_from: datetime) -> CalendarVersion:
    """A calendar version from the legacy `mes.shifts` keys: a shift between each two
    consecutive ends (the last wraps to the first), every day, without breaks."""
    clocks = sorted(set(ends))
    if not clocks:
        raise CalendarError("mes.shifts.ends: at least one shift end is needed")
    shifts = tuple(
        Shift(f"{a:%H:%M}-{b:%H:%M}", a, b)
        for a, b in zip(clocks, [*clocks[1:], clocks[0]], strict=True)
    )
    return CalendarVersion(valid_from, timezone, shifts)
