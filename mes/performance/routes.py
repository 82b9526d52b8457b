"""Performance API: state intervals, downtime events and their reasons, the reason tree, shift
calendars and the ISO 22400-2 KPIs (JSON or CSV). See docs/mes-api.md and docs/performance.md."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel import Session, col, select

from config.performance import CalendarConfig
from mes.api.deps import ServicesDep, SessionDep, require, station_for
from mes.api.problems import Problem, refusals
from mes.api.types import RowId, Text
from mes.auth.roles import Permission, Principal, Role
from mes.core.clock import aware, utcnow
from mes.core.names import PlantNames
from mes.performance import downtime as dt
from mes.performance.build import periods
from mes.performance.calendar import CalendarError
from mes.performance.calendars import add_version, calendar_for
from mes.performance.figures import kpi_values, range_model
from mes.performance.models import DowntimeEvent, StateInterval
from mes.performance.units import Unit

router = APIRouter(prefix="/api/v1/performance", tags=["performance"])

Reader = Annotated[Principal, require(Permission.READ)]
Reporter = Annotated[Principal, require(Permission.REPORT)]
Corrector = Annotated[Principal, require(Permission.CORRECT)]
#: shift calendars are plant set-up (admins) and shift planning (supervisors)
CALENDAR_EDITORS = frozenset({Role.ADMIN, Role.SUPERVISOR})
Scope = Literal["work_unit", "work_centre", "line", "site"]
Bucket = Literal["shift", "day", "week", "range"]
MAX_RANGE = timedelta(days=400)


def _range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    if end <= start:
        raise Problem(422, "INVALID_REQUEST", f"`end` ({end}) must be after `start` ({start})")
    if end - start > MAX_RANGE:
        raise Problem(422, "INVALID_REQUEST", f"a range of at most {MAX_RANGE.days} days")
    return start.astimezone(UTC), end.astimezone(UTC)


class IntervalView(BaseModel):
    work_unit: str
    start: datetime
    end: datetime
    state: str
    reason: str | None


@router.get("/intervals", summary="State intervals of a work unit in a range")
def list_intervals(
    _: Reader,
    session: SessionDep,
    work_unit: Text,
    start: AwareDatetime,
    end: AwareDatetime,
) -> list[IntervalView]:
    lo, hi = _range(start, end)
    rows = session.exec(
        select(StateInterval)
        .where(StateInterval.work_unit == work_unit)
        .where(StateInterval.start < hi)
        .where(StateInterval.end >= lo)
        .order_by(col(StateInterval.start))
    ).all()
    return [
        IntervalView(
            work_unit=r.work_unit,
            start=aware(r.start) or r.start,
            end=aware(r.end) or r.end,
            state=r.state,
            reason=r.reason,
        )
        for r in rows
    ]


class DowntimeView(BaseModel):
    id: int
    work_unit: str
    start: datetime
    end: datetime | None
    state: str
    reason: str | None
    reason_by: str | None

    @classmethod
    def of(cls, e: DowntimeEvent) -> DowntimeView:
        assert e.id is not None
        return cls(
            id=e.id,
            work_unit=e.work_unit,
            start=aware(e.start) or e.start,
            end=aware(e.end),
            state=e.state,
            reason=e.reason,
            reason_by=e.reason_by,
        )


@router.get("/downtime", summary="Downtime events of work units in a range")
def list_downtime(
    _: Reader,
    session: SessionDep,
    services: ServicesDep,
    start: AwareDatetime,
    end: AwareDatetime,
    work_unit: Text | None = None,
) -> list[DowntimeView]:
    lo, hi = _range(start, end)
    stations = [work_unit] if work_unit else list(services.performance.units)
    return [DowntimeView.of(e) for e in dt.events(session, stations, lo, hi)]


class ReasonBody(BaseModel):
    reason: Text = Field(max_length=32, description="a second-level code of the reason tree")


def _codes(services: Any) -> set[str]:
    return {r.code for g in services.cfg.performance.reasons for r in g.reasons}


def _event(session: Session, event_id: int) -> DowntimeEvent:
    event = session.get(DowntimeEvent, event_id)
    if event is None:
        raise Problem(404, "NOT_FOUND", f"no downtime event {event_id}")
    return event


def _reason(services: Any, reason: str) -> str:
    code = reason.strip().upper()
    if code not in _codes(services):
        raise Problem(422, "INVALID_REQUEST", f"{reason!r} is not a reason of the reason tree")
    return code


@router.post(
    "/downtime/{event_id}/reason",
    summary="Give (operators, own workstation) or change (supervisors) a downtime reason",
    responses=refusals("NOT_FOUND", "UNKNOWN_STATION", "INVALID_REQUEST"),
)
def give_reason(
    event_id: RowId, body: ReasonBody, who: Reporter, session: SessionDep, services: ServicesDep
) -> DowntimeView:
    event = _event(session, event_id)
    station_for(who, event.work_unit, services)
    if event.reason and not who.can(Permission.CORRECT):
        raise Problem(403, "FORBIDDEN", "the event has a reason: a supervisor may change it")
    dt.give_reason(session, event, _reason(services, body.reason), who.label)
    session.commit()
    return DowntimeView.of(event)


class SplitBody(BaseModel):
    at: AwareDatetime = Field(description="where the event is cut")
    reason: Text | None = Field(default=None, max_length=32, description="of the second part")


@router.post(
    "/downtime/{event_id}/split",
    summary="Split a closed downtime event in two (supervisors, audited)",
    responses=refusals("NOT_FOUND", "ILLEGAL_TRANSITION", "INVALID_REQUEST"),
)
def split_event(
    event_id: RowId, body: SplitBody, who: Corrector, session: SessionDep, services: ServicesDep
) -> list[DowntimeView]:
    event = _event(session, event_id)
    try:
        second = dt.split(session, event, body.at.astimezone(UTC), who.label)
    except dt.DowntimeRefused as exc:
        raise Problem(409, "ILLEGAL_TRANSITION", str(exc)) from None
    if body.reason:
        dt.give_reason(session, second, _reason(services, body.reason), who.label)
    session.commit()
    return [DowntimeView.of(event), DowntimeView.of(second)]


class MergeBody(BaseModel):
    next_id: RowId = Field(description="the event that starts where this one ends")


@router.post(
    "/downtime/{event_id}/merge",
    summary="Merge a downtime event with the next one (supervisors, audited)",
    responses=refusals("NOT_FOUND", "ILLEGAL_TRANSITION"),
)
def merge_events(
    event_id: RowId, body: MergeBody, who: Corrector, session: SessionDep
) -> DowntimeView:
    first, second = _event(session, event_id), _event(session, body.next_id)
    try:
        merged = dt.merge(session, first, second, who.label)
    except dt.DowntimeRefused as exc:
        raise Problem(409, "ILLEGAL_TRANSITION", str(exc)) from None
    session.commit()
    return DowntimeView.of(merged)


@router.get("/reasons", summary="The downtime reason tree (en and zh-CN names)")
def reason_tree(_: Reader, services: ServicesDep) -> list[dict[str, Any]]:
    return [g.model_dump() for g in services.cfg.performance.reasons]


class CalendarEdit(CalendarConfig):
    valid_from: AwareDatetime = Field(description="applies from here on; not in the past")


@router.get("/calendars/{work_centre}", summary="Shift instances of a work centre in a range")
def shifts_of(
    work_centre: Text,
    _: Reader,
    session: SessionDep,
    services: ServicesDep,
    start: AwareDatetime,
    end: AwareDatetime,
) -> list[dict[str, Any]]:
    lo, hi = _range(start, end)
    calendar = calendar_for(
        session, services.cfg, None if work_centre == "default" else work_centre
    )
    return [
        {
            "shift": p.shift.name,
            "start": p.start,
            "end": p.end,
            "breaks": [{"start": b0, "end": b1} for b0, b1 in p.shift.breaks],
        }
        for p in periods(calendar, lo, hi)
        if p.shift is not None
    ]


@router.post(
    "/calendars",
    summary="Add a calendar version from `valid_from` on (supervisors, admins; forward only)",
    responses=refusals("FORBIDDEN", "INVALID_REQUEST"),
)
def edit_calendar(
    body: CalendarEdit, who: Reader, session: SessionDep, services: ServicesDep
) -> dict[str, Any]:
    if who.role not in CALENDAR_EDITORS:
        raise Problem(403, "FORBIDDEN", f"role {who.role.value!r} may not edit shift calendars")
    centres = {w.work_centre for w in services.cfg.workstations if w.work_centre} | {"default"}
    if body.work_centre not in centres:
        raise Problem(422, "INVALID_REQUEST", f"no work centre {body.work_centre!r}")
    plain = CalendarConfig.model_validate(body.model_dump(exclude={"valid_from"}))
    try:
        add_version(
            session, services.cfg, plain, body.valid_from.astimezone(UTC), who.label, utcnow()
        )
    except CalendarError as exc:
        raise Problem(422, "INVALID_REQUEST", str(exc)) from None
    session.commit()
    return {"work_centre": body.work_centre, "valid_from": body.valid_from}


def _units(services: Any, scope: str, name: str | None) -> list[Unit]:
    units: list[Unit] = list(services.performance.units.values())
    key = {
        "work_unit": lambda u: u.workstation,
        "work_centre": lambda u: u.work_centre,
        "line": lambda u: u.line,
    }
    out = units if scope == "site" else [u for u in units if key[scope](u) == name]
    if not out:
        raise Problem(404, "NOT_FOUND", f"no work unit in {scope} {name!r}")
    return out


def _buckets(
    calendar: Any, zone: Any, by: str, lo: datetime, hi: datetime
) -> list[tuple[str, datetime, datetime]]:
    if by == "range":
        return [("range", lo, hi)]
    if by == "shift":
        return [
            (f"{p.shift.local_date} {p.shift.name}", p.start, p.end)
            for p in periods(calendar, lo, hi)
            if p.shift is not None
        ]
    out = []
    day = lo.astimezone(zone).date()
    if by == "week":
        day -= timedelta(days=day.weekday())
    step = timedelta(days=7 if by == "week" else 1)
    while True:
        b0 = datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)
        b1 = datetime.combine(day + step, datetime.min.time(), zone).astimezone(UTC)
        if b0 >= hi:
            break
        out.append((day.isoformat(), max(b0, lo), min(b1, hi)))
        day += step
    return out


@router.get(
    "/kpi",
    summary="ISO 22400-2 times and KPIs by work unit, work centre, line or site",
    responses=refusals("NOT_FOUND", "INVALID_REQUEST"),
)
def kpi(
    _: Reader,
    session: SessionDep,
    services: ServicesDep,
    start: AwareDatetime,
    end: AwareDatetime,
    scope: Scope = "site",
    name: Text | None = Query(default=None, description="the work unit, work centre or line"),
    by: Bucket = "range",
    format: Literal["json", "csv"] = "json",
) -> Any:
    lo, hi = _range(start, end)
    units = _units(services, scope, name)
    calendar = calendar_for(session, services.cfg, units[0].work_centre)
    zone = calendar.versions[-1].zone
    rows = []
    for label, b0, b1 in _buckets(calendar, zone, by, lo, hi):
        model = range_model(session, services.cfg, units, b0, b1)
        rows.append(
            {
                "bucket": label,
                "start": b0.isoformat(),
                "end": b1.isoformat(),
                "times": model.as_record(),
                "kpis": kpi_values(model),
            }
        )
    if format == "csv":
        return _csv(rows)
    return {
        "scope": scope,
        "name": name,
        "names": _names(services.cfg, scope, name),
        "by": by,
        "rows": rows,
    }


def _names(cfg: Any, scope: str, name: str | None) -> dict[str, str] | None:
    """The display names (en, zh-CN) of the line or work centre asked for; none otherwise."""
    if name is None or scope not in ("line", "work_centre"):
        return None
    places = PlantNames.of(cfg)
    return places.line(name) if scope == "line" else places.work_centre(name)


def _csv(rows: list[dict[str, Any]]) -> Response:
    out = io.StringIO()
    if rows:
        head = ["bucket", "start", "end", *rows[0]["times"], *rows[0]["kpis"]]
        writer = csv.writer(out)
        writer.writerow(head)
        for r in rows:
            writer.writerow(
                [r["bucket"], r["start"], r["end"], *r["times"].values(), *r["kpis"].values()]
            )
    return Response(out.getvalue(), media_type="text/csv")
