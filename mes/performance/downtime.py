"""Downtime events: opened and closed from the state intervals; reasons from operators (API or
`RSN:<code>` scan); split, merge and re-reason by supervisors, each audited.

A stop (fault, idle with an order, no order) becomes an event once it has lasted the micro-stop
threshold (a shorter stop is a micro-stop, counted in ADET but not listed); the event closes
with its interval. The pause reason the scans gave becomes the event's reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from mes.core.audit import record
from mes.core.clock import aware, utcnow
from mes.performance.models import DowntimeEvent
from mes.performance.states import Interval, MachineState
from mes.performance.units import Unit


class DowntimeRefused(ValueError):
    """An edit that the events do not allow (answered 409)."""


DOWNTIME = frozenset({MachineState.FAULT, MachineState.IDLE, MachineState.NO_ORDER})


def _known(
    session: Session, wanted: Mapping[str, Sequence[datetime]]
) -> dict[tuple[str, datetime], DowntimeEvent]:
    """The events of each station that start at one of its wanted times, in one query."""
    starts = {t for times in wanted.values() for t in times}
    if not starts:
        return {}
    with session.no_autoflush:
        found = session.exec(
            select(DowntimeEvent)
            .where(col(DowntimeEvent.work_unit).in_(list(wanted)))
            .where(col(DowntimeEvent.start).in_(list(starts)))
        ).all()
    return {(e.work_unit, aware(e.start) or e.start): e for e in found}


@dataclass(frozen=True)
class Followed:
    """What one unit's builder produced in a transaction, for `follow`."""

    unit: Unit
    closed: Sequence[Interval]
    current: Interval

    @property
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


def follow(session: Session, units: Sequence[Followed]) -> list[dict[str, Any]]:
    """Update and close the units' known events after their builders produced intervals;
    returns the rows of the new events, for the caller to insert in bulk."""
    wanted = {
        f.unit.workstation: [iv.start for iv in f.stops] + ([f.current.start] if f.opens else [])
        for f in units
    }
    known = _known(session, wanted)
    new: list[dict[str, Any]] = []
    for f in units:
        station = f.unit.workstation
        for iv in f.stops:
            event = known.get((station, iv.start))
            if event is None:
                if iv.state in DOWNTIME and iv.end > iv.start:
                    new.append(_row(station, iv.start, iv.end, iv.state, iv.reason))
            elif iv.state in DOWNTIME and iv.end > iv.start:
                event.end = iv.end
                event.state = iv.state.value
                event.reason = event.reason or iv.reason
                session.add(event)
            elif event.end is None:
                event.end = iv.end  # reclassified (a micro-stop): keep what was said about it
                event.state = iv.state.value
                session.add(event)
        if f.opens and (station, f.current.start) not in known:
            new.append(_row(station, f.current.start, None, f.current.state, f.current.reason))
    return new


def _row(
    station: str, start: datetime, end: datetime | None, state: MachineState, reason: str | None
) -> dict[str, Any]:
    return {
        "work_unit": station,
        "start": start,
        "end": end,
        "state": state.value,
        "reason": reason,
    }


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
