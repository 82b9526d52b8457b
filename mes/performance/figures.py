"""Time models from the stored intervals: per work unit over a range (raw), pre-aggregated per
period as periods close (`close_periods`, which also queues one `_mes/kpi` message per work
unit and shift through the outbox), and summed over work units and buckets for the KPI API.

A range is answered from the pre-aggregated periods that lie inside it, plus the raw intervals
of whatever the periods do not cover: the answer is the same either way (tested).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from config.plant import PlantConfig
from mes.core.clock import aware
from mes.orders.models import Operation
from mes.outbox.store import enqueue
from mes.performance.build import build_by_period, build_time_model
from mes.performance.calendar import ShiftCalendar, next_shift_end
from mes.performance.calendars import calendar_for
from mes.performance.kpi import Quantities, TimeModel, aggregate, kpis
from mes.performance.models import PeriodFigures, StateInterval, WorkUnitCursor
from mes.performance.states import Interval, MachineState
from mes.performance.units import Unit
from mes.production.models import ProductionEvent


def _aware(at: datetime) -> datetime:
    out = aware(at)
    assert out is not None
    return out


def intervals(session: Session, station: str, start: datetime, end: datetime) -> list[Interval]:
    """The unit's intervals overlapping [start, end), with the one ending exactly at `start`,
    and the open one (provisionally, up to the last input)."""
    # A unit's intervals do not overlap: the first one needed is the last to start before
    # `start`. Bounding `start` from below keeps the index range to the answer (else the scan
    # runs from the unit's first interval ever).
    first = (
        select(func.max(StateInterval.start))
        .where(StateInterval.work_unit == station)
        .where(StateInterval.start < start)
        .scalar_subquery()
    )
    rows = session.exec(  # columns, not ORM objects: a month is tens of thousands of rows
        select(StateInterval.start, StateInterval.end, StateInterval.state, StateInterval.reason)
        .where(StateInterval.work_unit == station)
        .where(StateInterval.start >= func.coalesce(first, start))
        .where(StateInterval.start < end)
        .where(StateInterval.end >= start)
        .order_by(col(StateInterval.start))
    ).all()
    state = {s.value: s for s in MachineState}
    out = [Interval(_aware(lo), _aware(hi), state[st], reason) for lo, hi, st, reason in rows]
    cursor = session.get(WorkUnitCursor, station)
    if cursor is not None:
        lo, hi = _aware(cursor.open_start), _aware(cursor.now)
        if lo < end and hi > lo and hi >= start:
            out.append(Interval(lo, hi, MachineState(cursor.open_state), cursor.open_reason))
    return out


def quantities(session: Session, station: str, start: datetime, end: datetime) -> Quantities:
    """Produced, good, scrap, rework and the ideal time (routing cycle time x produced) of the
    production events at the workstation in [start, end)."""
    rows = session.exec(
        select(
            Operation.cycle_time_s,
            func.sum(ProductionEvent.good),
            func.sum(ProductionEvent.scrap),
            func.sum(ProductionEvent.rework),
        )
        .join(Operation, col(Operation.id) == col(ProductionEvent.operation_id))
        .where(ProductionEvent.workstation == station)
        .where(ProductionEvent.at >= start)
        .where(ProductionEvent.at < end)
        .group_by(col(Operation.cycle_time_s))
    ).all()
    total = Quantities()
    for cycle, good, scrap, rework in rows:
        g, sc, rw = max(int(good or 0), 0), max(int(scrap or 0), 0), max(int(rework or 0), 0)
        made = g + sc + rw
        total = total + Quantities(
            produced=made,
            good=g,
            scrap=sc,
            rework=rw,
            inspected=made,
            first_pass_good=g,
            ideal_time=timedelta(seconds=cycle) * made,
        )
    return total


def raw_model(
    session: Session, unit: Unit, calendar: ShiftCalendar, start: datetime, end: datetime
) -> TimeModel:
    ivs = intervals(session, unit.workstation, start, end)
    return build_time_model(
        ivs, calendar, start, end, quantities(session, unit.workstation, start, end)
    )


def _figures_row(
    unit: Unit, start: datetime, end: datetime, shift: str | None, model: TimeModel
) -> PeriodFigures:
    return PeriodFigures.model_validate(
        {
            "work_unit": unit.workstation,
            "work_centre": unit.work_centre,
            "line": unit.line,
            "start": start,
            "end": end,
            "shift": shift,
            **model.as_record(),
        }
    )


def _stored(row: PeriodFigures) -> TimeModel:
    return TimeModel.from_record(
        row.model_dump(exclude={"id", "work_unit", "work_centre", "line", "start", "end", "shift"})
    )


def close_periods(
    session: Session, cfg: PlantConfig, units: Iterable[Unit], now: datetime
) -> list[PeriodFigures]:
    """Store the figures of every period of each unit that ended by `now` (and up to which its
    data has arrived) and is not stored yet (from the unit's first interval, or its last stored
    period); queue `_mes/kpi` for each shift."""
    out = []
    for unit in units:
        last = session.exec(
            select(func.max(PeriodFigures.end)).where(PeriodFigures.work_unit == unit.workstation)
        ).one()
        if last is None:
            last = session.exec(
                select(func.min(StateInterval.start)).where(
                    StateInterval.work_unit == unit.workstation
                )
            ).one()
            if last is None:
                continue
        start = _aware(last)
        cursor = session.get(WorkUnitCursor, unit.workstation)
        upto = min(now, _aware(cursor.now)) if cursor is not None else now
        calendar = calendar_for(session, cfg, unit.work_centre)
        # up to the end of the shift running now, so that no period is cut short at `now`
        horizon = max(upto, next_shift_end(calendar, upto) or upto) + timedelta(microseconds=1)
        ivs = intervals(session, unit.workstation, start, horizon)
        for period, model in build_by_period(ivs, calendar, start, horizon):
            if period.end > upto or period.end <= period.start:
                continue  # still going, or its data not all in: stored later
            q = quantities(session, unit.workstation, period.start, period.end)
            model = replace(model, quantities=q)
            name = period.shift.name if period.shift else None
            row = _figures_row(unit, period.start, period.end, name, model)
            session.add(row)
            out.append(row)
            if period.shift is not None and cfg.performance.kpi_messages:
                enqueue(session, "kpi", kpi_message(unit, period.start, period.end, name, model))
    return out


def kpi_message(
    unit: Unit, start: datetime, end: datetime, shift: str | None, model: TimeModel
) -> dict[str, object]:
    """The `_mes/kpi` payload: the work unit, the shift, the time model and the KPIs."""
    return {
        "v": 1,
        "work_unit": unit.workstation,
        "work_centre": unit.work_centre,
        "line": unit.line,
        "shift": shift,
        "start_at": start.isoformat(),
        "end_at": end.isoformat(),
        "times": model.as_record(),
        "kpis": kpi_values(model),
    }


def kpi_values(model: TimeModel) -> dict[str, float | None]:
    values = kpis(model)
    out: dict[str, float | None] = {}
    for name in values.__dataclass_fields__:
        v = getattr(values, name)
        out[name if not isinstance(v, timedelta) else f"{name}_s"] = (
            v.total_seconds() if isinstance(v, timedelta) else v
        )
    return out


def range_model(
    session: Session, cfg: PlantConfig, units: Sequence[Unit], start: datetime, end: datetime
) -> TimeModel:
    """The summed time model of the units over [start, end): stored periods inside the range,
    raw intervals for the rest."""
    models: list[TimeModel] = []
    calendars: dict[str | None, ShiftCalendar] = {}
    stored: dict[str, list[PeriodFigures]] = {u.workstation: [] for u in units}
    for row in session.exec(
        select(PeriodFigures)
        .where(col(PeriodFigures.work_unit).in_(list(stored)))
        .where(PeriodFigures.start >= start)
        .where(PeriodFigures.end <= end)
        .order_by(col(PeriodFigures.start))
    ):
        stored[row.work_unit].append(row)
    for unit in units:
        if unit.work_centre not in calendars:
            calendars[unit.work_centre] = calendar_for(session, cfg, unit.work_centre)
        calendar = calendars[unit.work_centre]
        cursor = start
        for row in stored[unit.workstation]:
            lo, hi = _aware(row.start), _aware(row.end)
            if cursor < lo:
                models.append(raw_model(session, unit, calendar, cursor, lo))
            models.append(_stored(row))
            cursor = hi
        if cursor < end:
            models.append(raw_model(session, unit, calendar, cursor, end))
    return aggregate(models)


def invalidate(session: Session, station: str, since: datetime) -> int:
    """Drop the stored periods of a unit that end after `since` (an interval closed there
    changed what they counted, e.g. a stop turned out to be a micro-stop); `close_periods`
    stores them again and sends their `_mes/kpi` again (the latest message for a work unit and
    `start_at` is the one that counts)."""
    rows = session.exec(
        select(PeriodFigures)
        .where(PeriodFigures.work_unit == station)
        .where(PeriodFigures.end > since)
    ).all()
    for row in rows:
        session.delete(row)
    return len(rows)
