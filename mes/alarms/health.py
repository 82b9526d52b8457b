"""Alarm-system health metrics after ISA-18.2 (no I/O).

Inputs are the raises of a period (from the alarm journal) and the alarms active now:
- alarms per 10 minutes per area (average over the period, and the busiest 10 minutes);
- floods: more than 10 alarms within 10 minutes in one area;
- chattering: one alarm raised 3 or more times within a minute;
- stale: active for more than 24 hours;
- the top 10 bad actors (most raises).
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

TEN_MINUTES = timedelta(minutes=10)
FLOOD_MORE_THAN = 10
CHATTER_AT_LEAST = 3
CHATTER_WINDOW = timedelta(minutes=1)
STALE_AFTER = timedelta(hours=24)
TOP_N = 10


@dataclass(frozen=True, slots=True)
class RaiseRecord:
    alarm: str
    area: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ActiveAlarm:
    alarm: str
    area: str
    since: datetime


@dataclass(frozen=True, slots=True)
class AreaRate:
    area: str
    total: int
    per_10_min: float
    peak_10_min: int


@dataclass(frozen=True, slots=True)
class Flood:
    area: str
    start: datetime
    end: datetime
    count: int


@dataclass(frozen=True, slots=True)
class Chatter:
    alarm: str
    max_per_minute: int


@dataclass(frozen=True, slots=True)
class Health:
    since: datetime
    until: datetime
    areas: list[AreaRate] = field(default_factory=list)
    floods: list[Flood] = field(default_factory=list)
    chattering: list[Chatter] = field(default_factory=list)
    stale: list[ActiveAlarm] = field(default_factory=list)
    bad_actors: list[tuple[str, int]] = field(default_factory=list)


def _max_in_window(times: Sequence[datetime], window: timedelta) -> int:
    """The most events in any window of that length (times sorted)."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def _floods(area: str, times: Sequence[datetime]) -> list[Flood]:
    """Merged periods where some 10-minute window held more than FLOOD_MORE_THAN raises."""
    out: list[Flood] = []
    lo = 0
    for hi, t in enumerate(times):
        while t - times[lo] >= TEN_MINUTES:
            lo += 1
        if hi - lo + 1 > FLOOD_MORE_THAN:
            start = times[lo]
            if out and start <= out[-1].end:
                prev = out[-1]
                first = times.index(prev.start)
                out[-1] = Flood(area, prev.start, t, hi - first + 1)
            else:
                out.append(Flood(area, start, t, hi - lo + 1))
    return out


def health(
    raises: Iterable[RaiseRecord],
    active: Iterable[ActiveAlarm],
    since: datetime,
    until: datetime,
) -> Health:
    by_area: dict[str, list[datetime]] = defaultdict(list)
    by_alarm: dict[str, list[datetime]] = defaultdict(list)
    for r in raises:
        if since <= r.at <= until:
            by_area[r.area].append(r.at)
            by_alarm[r.alarm].append(r.at)
    windows = max((until - since) / TEN_MINUTES, 1.0)
    areas, floods = [], []
    for area, times in sorted(by_area.items()):
        times.sort()
        areas.append(
            AreaRate(area, len(times), len(times) / windows, _max_in_window(times, TEN_MINUTES))
        )
        floods += _floods(area, times)
    chattering = []
    for alarm, times in sorted(by_alarm.items()):
        times.sort()
        peak = _max_in_window(times, CHATTER_WINDOW)
        if peak >= CHATTER_AT_LEAST:
            chattering.append(Chatter(alarm, peak))
    counts = Counter({a: len(t) for a, t in by_alarm.items()})
    bad = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_N]
    stale = sorted((a for a in active if until - a.since > STALE_AFTER), key=lambda a: a.since)
    return Health(since, until, areas, floods, chattering, stale, bad)
