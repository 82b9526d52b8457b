"""From state intervals, the shift calendar and quantities to the TimeModel of a work unit.

Every instant of the range is classified once, by where it falls in the calendar (busy shift
time, a break, no shift) and by the work unit's state then; the rules are in `_account` and
explained in docs/performance.md. Time that no interval covers counts as UNKNOWN.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from mes.performance.calendar import ShiftCalendar, ShiftInstance, shift_instances
from mes.performance.kpi import ZERO, Quantities, TimeModel
from mes.performance.states import Interval, MachineState

S = MachineState
PROCESSING = frozenset({S.RUNNING, S.SETUP})


class Zone(StrEnum):
    BUSY = "busy"  # inside a shift, outside its breaks: planned busy time
    BREAK = "break"  # a break: planned downtime
    OFF = "off"  # no shift: outside planned operation time


@dataclass(frozen=True, slots=True)
class Segment:
    start: datetime
    end: datetime
    zone: Zone


class IntervalError(ValueError):
    """State intervals that cannot be accounted (overlapping, naive times)."""


def zones(calendar: ShiftCalendar, start: datetime, end: datetime) -> list[Segment]:
    """[start, end) cut into busy / break / off segments, in order, without gaps."""
    out: list[Segment] = []
    cursor = start
    for inst in shift_instances(calendar, start, end):
        if cursor < inst.start:
            out.append(Segment(cursor, inst.start, Zone.OFF))
        cursor = inst.start
        for b0, b1 in sorted(inst.breaks):
            if cursor < b0:
                out.append(Segment(cursor, b0, Zone.BUSY))
            out.append(Segment(b0, b1, Zone.BREAK))
            cursor = b1
        if cursor < inst.end:
            out.append(Segment(cursor, inst.end, Zone.BUSY))
        cursor = inst.end
    if cursor < end:
        out.append(Segment(cursor, end, Zone.OFF))
    return out


def _covered(
    intervals: list[Interval], start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime, MachineState]]:
    """(start, end, state) of the intervals clipped to [start, end), gaps as UNKNOWN."""
    cursor = start
    for iv in intervals:
        lo, hi = max(iv.start, start), min(iv.end, end)
        if lo >= hi:
            continue
        if lo < cursor:
            raise IntervalError(f"state intervals overlap at {lo} ({iv.state.value})")
        if cursor < lo:
            yield cursor, lo, S.UNKNOWN
        yield lo, hi, iv.state
        cursor = hi
    if cursor < end:
        yield cursor, end, S.UNKNOWN


def _failures(intervals: list[Interval], start: datetime, end: datetime) -> int:
    """Faults that start in [start, end); a fault continued by an adjacent fault counts once."""
    count = 0
    previous: Interval | None = None
    for iv in intervals:
        if iv.end == iv.start:
            continue  # an empty interval is no event and does not break a fault
        continues = previous is not None and previous.state is S.FAULT and previous.end == iv.start
        if iv.state is S.FAULT and not continues and start <= iv.start < end:
            count += 1
        previous = iv
    return count


_BUSY_FIELD = {
    S.RUNNING: "apt",
    S.SETUP: "asut",
    S.FAULT: "adet_fault",
    S.MICRO_STOP: "adet_micro_stop",
    S.IDLE: "adet_idle",
    S.NO_ORDER: "adot",
    S.UNKNOWN: "unknown",
    S.PLANNED_STOP: "pdt",
}
_PROCESSING_FIELD = {S.RUNNING: "apt", S.SETUP: "asut"}


def _cell(zone: Zone, state: MachineState) -> tuple[str, ...]:
    ttr = ("ttr",) if state is S.FAULT else ()
    if zone is Zone.BUSY:
        return ("pot", _BUSY_FIELD[state], *ttr)
    if state in PROCESSING:
        moved = "processing_in_pdt" if zone is Zone.BREAK else "processing_outside_shifts"
        return ("pot", _PROCESSING_FIELD[state], moved)
    return ("pot", "pdt", *ttr) if zone is Zone.BREAK else ttr


ACCOUNTING: dict[tuple[Zone, MachineState], tuple[str, ...]] = {
    (zone, state): _cell(zone, state) for zone in Zone for state in MachineState
}
"""Which TimeModel fields a second in (calendar zone, state) adds to: the whole time model."""


def accounting_table() -> str:
    """ACCOUNTING as a Markdown table (docs/performance.md shows this, kept current by a test)."""
    head = "| state | " + " | ".join(f"{z.value}" for z in Zone) + " |"
    rows = [head, "|---" * (len(Zone) + 1) + "|"]
    for state in MachineState:
        cells = (", ".join(ACCOUNTING[(z, state)]) or "(nothing)" for z in Zone)
        rows.append(f"| {state.value} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _account(durations: dict[tuple[Zone, MachineState], timedelta]) -> dict[str, timedelta]:
    totals: dict[str, timedelta] = defaultdict(lambda: ZERO)
    for cell, duration in durations.items():
        for name in ACCOUNTING[cell]:
            totals[name] += duration
    return dict(totals)


def build_time_model(
    intervals: Iterable[Interval],
    calendar: ShiftCalendar,
    start: datetime,
    end: datetime,
    quantities: Quantities | None = None,
) -> TimeModel:
    """The TimeModel of one work unit over [start, end).

    `intervals` are the unit's state intervals overlapping the range (more may be given; they
    are clipped). Include the interval that ends exactly at `start`, if any: it tells a fault
    that continues into the range from a new one. `quantities` are those of the same range.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise IntervalError("build_time_model: start and end must be timezone-aware")
    if end < start:
        raise IntervalError(f"build_time_model: range ends ({end}) before it starts ({start})")
    ordered = sorted(intervals, key=lambda iv: (iv.start, iv.end))
    durations: dict[tuple[Zone, MachineState], timedelta] = defaultdict(lambda: ZERO)
    segments = zones(calendar, start, end)
    k = 0
    for lo, hi, state in _covered(ordered, start, end):
        while segments[k].end <= lo:
            k += 1
        seg = segments[k]
        if hi <= seg.end:  # the usual case: the piece lies in one calendar segment
            durations[(seg.zone, state)] += hi - lo
            continue
        j = k
        while j < len(segments) and segments[j].start < hi:
            seg = segments[j]
            durations[(seg.zone, state)] += min(seg.end, hi) - max(seg.start, lo)
            j += 1
    return TimeModel(
        **_account(durations),
        failures=_failures(ordered, start, end),
        quantities=quantities or Quantities(),
    )


@dataclass(frozen=True, slots=True)
class Period:
    """A stretch of a range: one shift instance, or the time between shifts (`shift` None)."""

    start: datetime
    end: datetime
    shift: ShiftInstance | None


def periods(calendar: ShiftCalendar, start: datetime, end: datetime) -> list[Period]:
    """[start, end) cut at every shift start and end, in order, without gaps. The time between
    shifts is also cut at local midnight: a day, a week or a month asked for later then starts
    and ends on stored periods (a weekend is not one period from Friday night to Monday)."""
    midnights = calendar.local_midnights(start, end)
    out: list[Period] = []

    def between(lo: datetime, hi: datetime) -> None:
        for cut in midnights[
            bisect.bisect_right(midnights, lo) : bisect.bisect_left(midnights, hi)
        ]:
            out.append(Period(lo, cut, None))
            lo = cut
        out.append(Period(lo, hi, None))

    cursor = start
    for inst in shift_instances(calendar, start, end):
        if cursor < inst.start:
            between(cursor, inst.start)
        out.append(Period(inst.start, inst.end, inst))
        cursor = inst.end
    if cursor < end:
        between(cursor, end)
    return out


def build_by_period(
    intervals: Iterable[Interval], calendar: ShiftCalendar, start: datetime, end: datetime
) -> list[tuple[Period, TimeModel]]:
    """One time model (without quantities) per period; their sum is the model of the range.

    This is the grain to pre-aggregate and to report at each shift end; attach each period's
    quantities with `dataclasses.replace(model, quantities=...)`.
    """
    ordered = sorted(intervals, key=lambda iv: (iv.start, iv.end))
    starts = [iv.start for iv in ordered]
    ends = [iv.end for iv in ordered]
    ends_sorted = all(a <= b for a, b in itertools.pairwise(ends))
    out = []
    for p in periods(calendar, start, end):
        # From the interval ending exactly at p.start (it tells a continuing fault) to the last
        # one starting before p.end. Overlapping input gets all intervals (and is refused).
        lo = bisect.bisect_left(ends, p.start) if ends_sorted else 0
        hi = bisect.bisect_left(starts, p.end)
        out.append((p, build_time_model(ordered[lo:hi], calendar, p.start, p.end)))
    return out
