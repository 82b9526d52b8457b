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


def _covered(intervals: list[Interval], start: datetime, end: datetime) -> Iterator[Interval]:
    """The intervals clipped to [start, end), with the gaps between them as UNKNOWN."""
    cursor = start
    for iv in intervals:
        lo, hi = max(iv.start, start), min(iv.end, end)
        if lo >= hi:
            continue
        if lo < cursor:
            raise IntervalError(f"state intervals overlap at {lo} ({iv.state.value})")
        if cursor < lo:
            yield Interval(cursor, lo, S.UNKNOWN)
        yield Interval(lo, hi, iv.state, iv.reason)
        cursor = hi
    if cursor < end:
        yield Interval(cursor, end, S.UNKNOWN)


def _failures(intervals: list[Interval], start: datetime, end: datetime) -> int:
    """Faults that start in [start, end); a fault continued by an adjacent fault counts once."""
    count = 0
    previous: Interval | None = None
    for iv in intervals:
        continues = previous is not None and previous.state is S.FAULT and previous.end == iv.start
        if iv.state is S.FAULT and not continues and start <= iv.start < end:
            count += 1
        previous = iv
    return count


def _account(durations: dict[tuple[Zone, MachineState], timedelta]) -> dict[str, timedelta]:
    def d(zone: Zone, *states: MachineState) -> timedelta:
        return sum((durations.get((zone, st), ZERO) for st in states), ZERO)

    busy_total = sum((v for (z, _), v in durations.items() if z is Zone.BUSY), ZERO)
    break_total = sum((v for (z, _), v in durations.items() if z is Zone.BREAK), ZERO)
    in_pdt = d(Zone.BREAK, *PROCESSING)
    outside = d(Zone.OFF, *PROCESSING)
    planned_stop = d(Zone.BUSY, S.PLANNED_STOP)
    return {
        "pot": busy_total + break_total + outside,
        "pdt": break_total - in_pdt + planned_stop,
        "apt": sum((d(z, S.RUNNING) for z in Zone), ZERO),
        "asut": sum((d(z, S.SETUP) for z in Zone), ZERO),
        "adet_fault": d(Zone.BUSY, S.FAULT),
        "adet_micro_stop": d(Zone.BUSY, S.MICRO_STOP),
        "adet_idle": d(Zone.BUSY, S.IDLE),
        "adot": d(Zone.BUSY, S.NO_ORDER),
        "unknown": d(Zone.BUSY, S.UNKNOWN),
        "ttr": sum((d(z, S.FAULT) for z in Zone), ZERO),
        "processing_in_pdt": in_pdt,
        "processing_outside_shifts": outside,
    }


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
    for piece in _covered(ordered, start, end):
        while segments[k].end <= piece.start:
            k += 1
        j = k
        while j < len(segments) and segments[j].start < piece.end:
            seg = segments[j]
            overlap = min(seg.end, piece.end) - max(seg.start, piece.start)
            durations[(seg.zone, piece.state)] += overlap
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
    """[start, end) cut at every shift start and end, in order, without gaps."""
    out: list[Period] = []
    cursor = start
    for inst in shift_instances(calendar, start, end):
        if cursor < inst.start:
            out.append(Period(cursor, inst.start, None))
        out.append(Period(inst.start, inst.end, inst))
        cursor = inst.end
    if cursor < end:
        out.append(Period(cursor, end, None))
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
