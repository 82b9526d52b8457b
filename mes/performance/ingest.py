"""From MQTT messages to stored state intervals, inside the caller's transaction.

One `StateBatch` per transaction: it loads the interval builders of the work units it touches
from their cursors (`perf_cursor`), feeds them, and on `finish()` stores the closed intervals,
updates the downtime events and writes the cursors back. A message not newer than the last one
applied to a work unit is a redelivery and changes nothing (idempotent, at-least-once).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from mes.core.clock import aware
from mes.core.errors import BadMessage
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


def ms_time(value: Any, what: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadMessage(f"`{what}` must be milliseconds since the epoch, got {value!r}")
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        raise BadMessage(f"`{what}` {value} is not a time") from None


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
        if not isinstance(item, dict) or not isinstance(item.get("tag"), str):
            raise BadMessage(f"values[{i}]: needs a `tag`")
        try:
            quality = TagQuality(item.get("quality", "good"))
        except ValueError:
            raise BadMessage(f"values[{i}]: unknown quality {item.get('quality')!r}") from None
        out[item["tag"]] = TagReading(item.get("value"), quality)
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


def _state(cursor: WorkUnitCursor) -> BuilderState:
    readings = {
        tag: TagReading(v, TagQuality(q))
        for tag, (v, q) in json.loads(cursor.readings_json).items()
    }
    now = aware(cursor.now) or cursor.now
    return BuilderState(
        open=Interval(
            aware(cursor.open_start) or cursor.open_start,
            now,
            MachineState(cursor.open_state),
            cursor.open_reason,
        ),
        heard=aware(cursor.heard) or cursor.heard,
        online=cursor.online,
        readings=readings,
        job=JobContext(JobStatus(cursor.job_status), cursor.job_reason),
    )


def _store(cursor: WorkUnitCursor, state: BuilderState) -> None:
    cursor.open_start = state.open.start
    cursor.open_state = state.open.state.value
    cursor.open_reason = state.open.reason
    cursor.now = state.now
    cursor.heard = state.heard
    cursor.online = state.online
    cursor.readings_json = json.dumps(
        {tag: [r.value, r.quality.value] for tag, r in state.readings.items()}, default=str
    )
    cursor.job_status = state.job.status.value
    cursor.job_reason = state.job.reason


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


@dataclass
class _Open:
    unit: Unit
    builder: IntervalBuilder
    cursor: WorkUnitCursor
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
        self._cursors: dict[str, WorkUnitCursor] | None = None

    def _job(self, station: str) -> JobContext:
        if self._jobs is None:
            self._jobs = job_contexts(self.session, self.units)
        return self._jobs.get(station, JobContext())

    def _get(self, station: str, ts: datetime) -> _Open:
        entry = self._open.get(station)
        if entry is not None:
            return entry
        unit = self.units[station]
        if self._cursors is None:  # every unit's cursor in one query
            self._cursors = {
                c.work_unit: c
                for c in self.session.exec(
                    select(WorkUnitCursor).where(
                        col(WorkUnitCursor.work_unit).in_(list(self.units))
                    )
                )
            }
        cursor = self._cursors.get(station)
        micro, silence = unit.micro_stop_threshold, unit.silence_timeout
        if cursor is None:
            builder = IntervalBuilder(
                unit.mapping, start=ts, micro_stop_threshold=micro, silence_timeout=silence
            )
            cursor = self._cursors[station] = WorkUnitCursor(
                work_unit=station, open_start=ts, open_state="unknown", now=ts, heard=ts
            )
        else:
            builder = IntervalBuilder.resume(
                unit.mapping, _state(cursor), micro_stop_threshold=micro, silence_timeout=silence
            )
        entry = self._open[station] = _Open(unit, builder, cursor, aware(cursor.last_message))
        return entry

    def _fresh(self, entry: _Open, ts: datetime) -> bool:
        last = entry.last_message
        if last is not None and ts <= last:
            return False  # a redelivery, or older than what was applied
        entry.last_message = ts
        return True

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
        entry = self._get(station, ts)
        if readings is not None and not self._fresh(entry, ts):
            return False
        at = max(ts, entry.builder.current.end)
        entry.closed += entry.builder.observe(
            at, readings=readings, job=self._job(station), agent_online=online
        )
        return True

    def tick(self, station: str, now: datetime, *, heartbeat: bool) -> None:
        """Time passes; with `heartbeat` (the agent is online: a silent device only has
        unchanged values under report-by-exception), the agent counts as heard."""
        entry = self._get(station, now)
        if now <= entry.builder.current.end:
            return
        if heartbeat and entry.builder.snapshot().online:
            entry.closed += entry.builder.observe(now, readings={}, job=self._job(station))
        else:
            entry.closed += entry.builder.advance(now)

    def finish(self) -> list[Interval]:
        """Store closed intervals, downtime events and cursors; returns the closed intervals.
        New rows go in with one bulk insert per table (no ORM object per row)."""
        out: list[Interval] = []
        intervals: list[dict[str, Any]] = []
        followed: list[downtime.Followed] = []
        for station, entry in self._open.items():
            intervals += (
                {
                    "work_unit": station,
                    "start": iv.start,
                    "end": iv.end,
                    "state": iv.state.value,
                    "reason": iv.reason,
                }
                for iv in entry.closed
                if iv.end > iv.start
            )
            # stored periods counted an open stop as it was; one that closed as a micro-stop
            # changes their figures (a rare case: it is shorter than the threshold)
            micro = [iv.start for iv in entry.closed if iv.state is MachineState.MICRO_STOP]
            if micro:
                invalidate(self.session, station, micro[0])
            state = entry.builder.snapshot()
            followed.append(downtime.Followed(entry.unit, entry.closed, state.open))
            _store(entry.cursor, state)
            entry.cursor.last_message = entry.last_message
            self.session.add(entry.cursor)
            out += entry.closed
        events = downtime.follow(self.session, followed)
        # Core executemany (not the ORM's bulk insert, which prepares each row again)
        conn = self.session.connection()
        if intervals:
            conn.execute(insert(StateInterval.__table__), intervals)  # type: ignore[attr-defined]
        if events:
            conn.execute(insert(DowntimeEvent.__table__), events)  # type: ignore[attr-defined]
        self._open.clear()
        return out
