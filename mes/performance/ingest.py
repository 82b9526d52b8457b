"""From MQTT messages to stored state intervals, inside the caller's transaction.

One `StateBatch` per transaction: it loads the interval builders of the work units it touches
from their cursors (`perf_cursor`), feeds them, and on `finish()` stores the closed intervals,
updates the downtime events and writes the cursors back. A message not newer than the last one
applied to a work unit is a redelivery and changes nothing (idempotent, at-least-once).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from mes.core.clock import aware
from mes.core.errors import BadMessage
from mes.core.rows import RowWriter
from mes.orders.models import Operation
from mes.performance import downtime
from mes.performance.figures import invalidate
from mes.performance.models import DowntimeEvent, StateInterval, WorkUnitCursor
from mes.performance.states import (
    BuilderState,
    Interval,
    IntervalBuilder,
    JobContext,
    JobStatus,
    MachineState,
    TagQuality,
    TagReading,
)
from mes.performance.units import Unit
from uns.telemetry import COMPACT, BadCompact, compact_columns

_NUMBERS = (int, float)


def ms_time(value: Any, what: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, _NUMBERS):
        raise BadMessage(f"`{what}` must be milliseconds since the epoch, got {value!r}")
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        raise BadMessage(f"`{what}` {value} is not a time") from None


_QUALITIES = {q.value: q for q in TagQuality}


def telemetry_readings(body: Mapping[str, Any]) -> tuple[datetime, dict[str, TagReading]]:
    """(batch time, latest reading per tag) of a telemetry batch (contracts section 2, or the
    compact form of section 2b)."""
    ts = ms_time(body.get("ts"), "ts")
    if body.get("format") == COMPACT:
        return ts, _compact_readings(body)
    values = body.get("values")
    if not isinstance(values, list):
        raise BadMessage("`values` must be a list")
    out: dict[str, TagReading] = {}
    for i, item in enumerate(values):
        if not isinstance(item, dict):
            raise BadMessage(f"values[{i}]: needs a `tag`")
        tag = item.get("tag")
        if not isinstance(tag, str):
            raise BadMessage(f"values[{i}]: needs a `tag`")
        quality = item.get("quality", "good")
        known = _QUALITIES.get(quality) if isinstance(quality, str) else None
        if known is None:
            raise BadMessage(f"values[{i}]: unknown quality {quality!r}")
        out[tag] = TagReading(item.get("value"), known)
    return ts, out


def _compact_readings(body: Mapping[str, Any]) -> dict[str, TagReading]:
    """The latest reading per tag of a compact batch: good unless a mark says otherwise."""
    try:
        c = compact_columns(body)
    except BadCompact as exc:
        raise BadMessage(str(exc)) from None
    if not all(isinstance(t, str) for t in c.tags):
        raise BadMessage("`tags` must be strings")
    good = TagQuality.GOOD
    out = {t: TagReading(v, good) for t, v in zip(c.tags, c.values, strict=True)}
    last = {t: i for i, t in enumerate(c.tags)} if c.marks else {}
    for i, mark in c.marks.items():
        try:
            quality = TagQuality(mark.get("quality", "good"))
        except ValueError:
            raise BadMessage(f"marks: unknown quality {mark.get('quality')!r}") from None
        if last[c.tags[i]] == i:  # the tag's latest value is the one marked
            out[c.tags[i]] = TagReading(c.values[i], quality)
    return out


#: the cursor's columns after `work_unit`, in the order of `_cursor_values`
CURSOR_COLUMNS = (
    "open_start",
    "open_state",
    "open_reason",
    "now",
    "heard",
    "last_message",
    "online",
    "readings_json",
    "job_status",
    "job_reason",
)
INTERVAL_COLUMNS = ("work_unit", "start", "end", "state", "reason")
CHANGED_EVENT_COLUMNS = ("end", "state", "reason")
NO_JOB = JobContext()


def _state(cursor: Any) -> BuilderState:
    """The builder state a `perf_cursor` row holds."""
    readings = {
        tag: TagReading(v, TagQuality(q))
        for tag, (v, q) in json.loads(cursor.readings_json).items()
    }
    return BuilderState(
        open=Interval(
            aware(cursor.open_start),
            aware(cursor.now),
            MachineState(cursor.open_state),
            cursor.open_reason,
        ),
        heard=aware(cursor.heard),
        online=cursor.online,
        readings=readings,
        job=JobContext(JobStatus(cursor.job_status), cursor.job_reason),
    )


def _cursor_values(
    state: BuilderState, last_message: datetime | None, time: Callable[[datetime | None], Any]
) -> tuple[Any, ...]:
    """The `CURSOR_COLUMNS` values of a builder state (times as `time` makes them)."""
    readings = {tag: [r.value, r.quality.value] for tag, r in state.readings.items()}
    return (
        time(state.open.start),
        state.open.state.value,
        state.open.reason,
        time(state.now),
        time(state.heard),
        time(last_message),
        state.online,
        json.dumps(readings, default=str),
        state.job.status.value,
        state.job.reason,
    )


def job_contexts(session: Session, stations: Iterable[str]) -> dict[str, JobContext]:
    """What the scans say per workstation: a running operation, a paused one (with the pause
    reason), or none."""
    out: dict[str, JobContext] = {}
    rows = session.exec(
        select(Operation.workstation, Operation.status, Operation.pause_reason)
        .where(col(Operation.workstation).in_(list(stations)))
        .where(col(Operation.status).in_(["RUNNING", "PAUSED"]))
    ).all()
    for station, status, reason in rows:
        if station is None:
            continue
        if status == "RUNNING":
            out[station] = JobContext(JobStatus.RUNNING)
        elif station not in out:
            out[station] = JobContext(JobStatus.PAUSED, reason)
    return out


@dataclass(slots=True)
class _Open:
    unit: Unit
    builder: IntervalBuilder
    #: the unit has a cursor row (updated in `finish`; else inserted)
    stored: bool
    job: JobContext
    #: the newest message applied (written to the cursor once, in `finish`)
    last_message: datetime | None = None
    closed: list[Interval] = field(default_factory=list)


class StateBatch:
    """The work units touched in one transaction."""

    def __init__(self, session: Session, units: Mapping[str, Unit]) -> None:
        self.session = session
        self.units = units
        self._open: dict[str, _Open] = {}
        self._jobs: dict[str, JobContext] | None = None
        self._cursors: dict[str, Any] | None = None

    def _get(self, station: str, ts: datetime) -> _Open:
        entry = self._open.get(station)
        if entry is not None:
            return entry
        unit = self.units[station]
        if self._jobs is None:
            self._jobs = job_contexts(self.session, self.units)
        if self._cursors is None:  # every unit's cursor in one query (columns, no ORM objects)
            table = WorkUnitCursor.__table__  # type: ignore[attr-defined]
            rows = self.session.connection().execute(
                select(table).where(table.c.work_unit.in_(list(self.units)))
            )
            self._cursors = {row.work_unit: row for row in rows}
        cursor = self._cursors.get(station)
        micro, silence = unit.micro_stop_threshold, unit.silence_timeout
        if cursor is None:
            builder = IntervalBuilder(
                unit.mapping, start=ts, micro_stop_threshold=micro, silence_timeout=silence
            )
            last = None
        else:
            builder = IntervalBuilder.resume(
                unit.mapping, _state(cursor), micro_stop_threshold=micro, silence_timeout=silence
            )
            last = aware(cursor.last_message)
        job = self._jobs.get(station, NO_JOB)
        entry = self._open[station] = _Open(unit, builder, cursor is not None, job, last)
        return entry

    def observe(
        self,
        station: str,
        ts: datetime,
        *,
        readings: Mapping[str, TagReading] | None = None,
        online: bool | None = None,
    ) -> bool:
        """Apply one message's content to a work unit; False when it was not new. An agent
        status (`online` alone) is applied whenever it arrives: it is idempotent."""
        entry = self._open.get(station) or self._get(station, ts)
        if readings is not None:
            last = entry.last_message
            if last is not None and ts <= last:
                return False  # a redelivery, or older than what was applied
            entry.last_message = ts
        builder = entry.builder
        now = builder.now
        closed = builder.observe(
            ts if ts > now else now, readings=readings, job=entry.job, agent_online=online
        )
        if closed:
            entry.closed += closed
        return True

    def tick(self, station: str, now: datetime, *, heartbeat: bool) -> None:
        """Time passes; with `heartbeat` (the agent is online: a silent device only has
        unchanged values under report-by-exception), the agent counts as heard."""
        entry = self._get(station, now)
        if now <= entry.builder.now:
            return
        if heartbeat and entry.builder.online:
            entry.closed += entry.builder.observe(now, readings={}, job=entry.job)
        else:
            entry.closed += entry.builder.advance(now)

    def finish(self) -> list[Interval]:
        """Store closed intervals, downtime events and cursors; returns the closed intervals.
        Every table gets one driver executemany per kind of change (no ORM object per row)."""
        rows = RowWriter(self.session.connection())
        t = rows.time
        out: list[Interval] = []
        intervals: list[tuple[Any, ...]] = []
        followed: list[downtime.Followed] = []
        updated: list[tuple[Any, ...]] = []
        inserted: list[tuple[Any, ...]] = []
        for station, entry in self._open.items():
            closed = entry.closed
            intervals += [
                (station, t(iv.start), t(iv.end), iv.state.value, iv.reason)
                for iv in closed
                if iv.end > iv.start
            ]
            # stored periods counted an open stop as it was; one that closed as a micro-stop
            # changes their figures (a rare case: it is shorter than the threshold)
            micro = [iv.start for iv in closed if iv.state is MachineState.MICRO_STOP]
            if micro:
                invalidate(self.session, station, micro[0])
            state = entry.builder.snapshot()
            followed.append(downtime.Followed(entry.unit, closed, state.open))
            values = _cursor_values(state, entry.last_message, t)
            if entry.stored:
                updated.append((*values, station))
            else:
                inserted.append((station, *values))
            out += closed
        known = downtime.known_events(self.session, downtime.wanted(followed))
        events = downtime.follow(followed, known)
        rows.insert(StateInterval.__tablename__, INTERVAL_COLUMNS, intervals)
        rows.insert(
            DowntimeEvent.__tablename__,
            downtime.EVENT_COLUMNS,
            [(e.work_unit, t(e.start), t(e.end), e.state, e.reason) for e in events.new],
        )
        rows.update(
            DowntimeEvent.__tablename__,
            CHANGED_EVENT_COLUMNS,
            "id",
            [(t(c.end), c.state, c.reason, c.id) for c in events.changed],
        )
        table = WorkUnitCursor.__tablename__
        rows.insert(table, ("work_unit", *CURSOR_COLUMNS), inserted)
        rows.update(table, CURSOR_COLUMNS, "work_unit", updated)
        self._open.clear()
        return out
