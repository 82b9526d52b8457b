"""Downtime events: opened and closed from the state intervals; reasons from operators (API or
`RSN:<code>` scan); split, merge and re-reason by supervisors, each audited.

A stop (fault, idle with an order, no order) becomes an event once it has lasted the micro-stop
threshold (a shorter stop is a micro-stop, counted in ADET but not listed); the event closes
with its interval. The pause reason the scans gave becomes the event's reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import NamedTuple

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from mes.core.audit import record
from mes.core.clock import aware, utcnow
from mes.performance.models import DowntimeEvent
from mes.performance.states import Interval, MachineState
from mes.performance.units import Unit


class DowntimeRefused(ValueError):
    """An edit that the events do not allow (answered 409)."""


DOWNTIME = frozenset({MachineState.FAULT, MachineState.IDLE, MachineState.NO_ORDER})


@dataclass(frozen=True, slots=True)
class KnownEvent:
    """A stored event that a stop of the transaction may change (the columns `follow` reads)."""

    id: int
    end: datetime | None
    state: str
    reason: str | None


class EventRow(NamedTuple):
    """A new event, in the column order of `EVENT_COLUMNS`."""

    work_unit: str
    start: datetime
    end: datetime | None
    state: str
    reason: str | None


EVENT_COLUMNS = EventRow._fields


class EventChange(NamedTuple):
    """New `end`, `state` and `reason` of a known event, then its id (an UPDATE's row)."""

    end: datetime | None
    state: str
    reason: str | None
    id: int


@dataclass(frozen=True)
class Followed:
    """What one unit's builder produced in a transaction, for `follow`."""

    unit: Unit
    closed: Sequence[Interval]
    current: Interval

    @cached_property
    def stops(self) -> list[Interval]:
        # running, setup, ...: never had an event
        return [
            iv for iv in self.closed if iv.state in DOWNTIME or iv.state is MachineState.MICRO_STOP
        ]

    @property
    def opens(self) -> bool:
        """The open interval is a stop long enough to be an event."""
        current, unit = self.current, self.unit
        lasted = current.end - current.start
        long_enough = current.state is MachineState.NO_ORDER or lasted >= unit.micro_stop_threshold
        return current.state in DOWNTIME and long_enough


@dataclass
class Followup:
    """What `follow` decided: the events to insert and the known events to change."""

    new: list[EventRow] = field(default_factory=list)
    changed: list[EventChange] = field(default_factory=list)


def wanted(units: Sequence[Followed]) -> dict[str, list[datetime]]:
    """Per station, the start times whose stored events `follow` needs."""
    out = {}
    for f in units:
        times = [iv.start for iv in f.stops]
        if f.opens:
            times.append(f.current.start)
        if times:
            out[f.unit.workstation] = times
    return out


def known_events(
    session: Session, wanted: Mapping[str, Sequence[datetime]]
) -> dict[tuple[str, datetime], KnownEvent]:
    """The events of each station that start at one of its wanted times, in one query."""
    starts = {t for times in wanted.values() for t in times}
    if not starts:
        return {}
    table = DowntimeEvent.__table__  # type: ignore[attr-defined]
    found = session.connection().execute(
        sa_select(
            table.c.id, table.c.work_unit, table.c.start, table.c.end, table.c.state, table.c.reason
        )
        .where(table.c.work_unit.in_(list(wanted)))
        .where(table.c.start.in_(list(starts)))
    )
    return {
        (station, aware(start)): KnownEvent(id_, aware(end), state, reason)
        for id_, station, start, end, state, reason in found
        if id_ is not None
    }


def follow(units: Sequence[Followed], known: Mapping[tuple[str, datetime], KnownEvent]) -> Followup:
    """Pure: the events to insert and the known events to change after the units' builders
    produced intervals (`known`: the stored events at the times `wanted` names).

    A closed stop updates its event (end, state; the reason the scans gave if it has none) or
    becomes a new, closed one; a stop that closed as a micro-stop closes its event as such,
    keeping what was said about it; an open stop that lasted long enough opens an event."""
    out = Followup()
    for f in units:
        station = f.unit.workstation
        for iv in f.stops:
            event = known.get((station, iv.start))
            is_stop = iv.state in DOWNTIME and iv.end > iv.start
            if event is None:
                if is_stop:
                    out.new.append(EventRow(station, iv.start, iv.end, iv.state.value, iv.reason))
            elif is_stop:
                reason = event.reason or iv.reason
                out.changed.append(EventChange(iv.end, iv.state.value, reason, event.id))
            elif event.end is None:  # reclassified (a micro-stop): keep what was said about it
                out.changed.append(EventChange(iv.end, iv.state.value, event.reason, event.id))
        current = f.current
        if f.opens and (station, current.start) not in known:
            out.new.append(
                EventRow(station, current.start, None, current.state.value, current.reason)
            )
    return out


def events(
    session: Session, stations: Sequence[str], start: datetime, end: datetime
) -> Sequence[DowntimeEvent]:
    """Events of the stations that overlap [start, end), also those still open."""
    return session.exec(
        select(DowntimeEvent)
        .where(col(DowntimeEvent.work_unit).in_(list(stations)))
        .where(DowntimeEvent.start < end)
        .where((col(DowntimeEvent.end).is_(None)) | (col(DowntimeEvent.end) >= start))
        .order_by(col(DowntimeEvent.start))
    ).all()


def open_event(session: Session, station: str) -> DowntimeEvent | None:
    """The station's latest event if it is open or has no reason yet (what `RSN:` explains)."""
    return session.exec(
        select(DowntimeEvent)
        .where(DowntimeEvent.work_unit == station)
        .where((col(DowntimeEvent.end).is_(None)) | (col(DowntimeEvent.reason).is_(None)))
        .order_by(col(DowntimeEvent.start).desc())
    ).first()


def give_reason(session: Session, event: DowntimeEvent, reason: str, by: str) -> DowntimeEvent:
    before = event.reason
    event.reason = reason
    event.reason_by = by
    event.reason_at = utcnow()
    session.add(event)
    record(
        session,
        actor=by,
        action="downtime.reason",
        target=f"downtime:{event.id}",
        detail={"before": {"reason": before}, "after": {"reason": reason}},
    )
    return event


def split(session: Session, event: DowntimeEvent, at: datetime, by: str) -> DowntimeEvent:
    """Cut a closed event at `at` into two; the second keeps the reason, which may then be
    changed on its own."""
    start, end = aware(event.start), aware(event.end)
    if start is None or end is None:
        raise DowntimeRefused("an open downtime event cannot be split: wait until it closes")
    if not start < at < end:
        raise DowntimeRefused(f"split time {at} is not inside the event ({start} to {end})")
    second = DowntimeEvent(
        work_unit=event.work_unit, start=at, end=end, state=event.state, reason=event.reason
    )
    event.end = at
    session.add(event)
    session.add(second)
    session.flush()
    record(
        session,
        actor=by,
        action="downtime.split",
        target=f"downtime:{event.id}",
        detail={
            "before": {"end": end.isoformat()},
            "after": {"end": at.isoformat(), "new": second.id},
        },
    )
    return second


def merge(session: Session, first: DowntimeEvent, second: DowntimeEvent, by: str) -> DowntimeEvent:
    """Join two adjacent closed events of one work unit into the first (the first's reason)."""
    if first.work_unit != second.work_unit:
        raise DowntimeRefused("downtime events of different work units cannot be merged")
    if first.end is None or second.end is None:
        raise DowntimeRefused("an open downtime event cannot be merged")
    if aware(first.end) != aware(second.start):
        raise DowntimeRefused(
            f"downtime events {first.id} and {second.id} are not adjacent (first must end where"
            " the second starts)"
        )
    end = second.end
    gone = second.id
    session.delete(second)
    session.flush()
    first.end = end
    first.reason = first.reason or second.reason
    session.add(first)
    record(
        session,
        actor=by,
        action="downtime.merge",
        target=f"downtime:{first.id}",
        detail={
            "before": {"merged": gone},
            "after": {"end": aware(end).isoformat() if end else None},
        },
    )
    return first
