"""Shift calendars per work centre: the plant file's (or the legacy `mes.shifts` keys as the
default) and the versions added through the API (forward only, audited)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time

from sqlmodel import Session, col, select

from config.performance import CalendarConfig
from config.plant import PlantConfig
from mes.core.audit import record
from mes.performance.calendar import (
    Break,
    CalendarVersion,
    Shift,
    ShiftCalendar,
    from_shift_ends,
)
from mes.performance.models import CalendarVersionRecord

DEFAULT = "default"
#: configured calendars apply from here on (before every figure the MES can have)
ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)


def version_of(body: CalendarConfig, valid_from: datetime, fallback_zone: str) -> CalendarVersion:
    shifts = tuple(
        Shift(
            s.name,
            time.fromisoformat(s.start),
            time.fromisoformat(s.end),
            frozenset(s.weekdays),
            tuple(Break(time.fromisoformat(b.start), time.fromisoformat(b.end)) for b in s.breaks),
        )
        for s in body.shifts
    )
    holidays = frozenset(body.holidays)
    return CalendarVersion(valid_from, body.timezone or fallback_zone, shifts, holidays)


def configured(cfg: PlantConfig, work_centre: str | None) -> CalendarVersion:
    """The first version of a work centre's calendar: its own, the `default` one, or the
    legacy `mes.shifts` keys."""
    zone = cfg.mes.shifts.timezone
    by_centre = {c.work_centre: c for c in cfg.performance.calendars}
    body = by_centre.get(work_centre or DEFAULT) or by_centre.get(DEFAULT)
    if body is not None:
        return version_of(body, ORIGIN, zone)
    ends = [time.fromisoformat(t) for t in cfg.mes.shifts.ends]
    return from_shift_ends(ends, zone, ORIGIN)


def centre_key(work_centre: str | None) -> str:
    return work_centre or DEFAULT


def calendar_for(session: Session, cfg: PlantConfig, work_centre: str | None) -> ShiftCalendar:
    rows = session.exec(
        select(CalendarVersionRecord)
        .where(CalendarVersionRecord.work_centre == centre_key(work_centre))
        .order_by(col(CalendarVersionRecord.valid_from))
    ).all()
    calendar = ShiftCalendar((configured(cfg, work_centre),))
    for row in rows:
        body = CalendarConfig.model_validate_json(row.body_json)
        valid_from = (
            row.valid_from.replace(tzinfo=UTC) if row.valid_from.tzinfo is None else row.valid_from
        )
        calendar = calendar.edited(version_of(body, valid_from, cfg.mes.shifts.timezone))
    return calendar


def add_version(
    session: Session,
    cfg: PlantConfig,
    body: CalendarConfig,
    valid_from: datetime,
    by: str,
    now: datetime,
) -> ShiftCalendar:
    """Add a version from `valid_from` (not before now: past figures never change)."""
    current = calendar_for(session, cfg, None if body.work_centre == DEFAULT else body.work_centre)
    version = version_of(body, valid_from, cfg.mes.shifts.timezone)
    calendar = current.edited(version, now=now)
    session.add(
        CalendarVersionRecord(
            work_centre=body.work_centre,
            valid_from=valid_from,
            body_json=body.model_dump_json(),
            created_by=by,
        )
    )
    record(
        session,
        actor=by,
        action="calendar.version",
        target=f"calendar:{body.work_centre}",
        detail={
            "valid_from": valid_from.isoformat(),
            "calendar": json.loads(body.model_dump_json()),
        },
    )
    return calendar
