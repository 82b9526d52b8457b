"""The dashboard's figures read from the MES tables: each aggregates in SQL and hands the few
rows left to the pure arithmetic of `figures`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from config.plant import PlantConfig
from mes.alarms.lifecycle import AlarmState
from mes.alarms.models import AlarmCurrent
from mes.core.clock import aware
from mes.dashboard import figures as fg
from mes.dashboard.periods import Period
from mes.dashboard.sql import earlier, later, seconds, when
from mes.orders.models import Operation, WorkOrder
from mes.orders.states import OperationState, WorkOrderState
from mes.performance.figures import range_model
from mes.performance.kpi import Kpis, TimeModel, kpis
from mes.performance.models import DowntimeEvent, PeriodFigures
from mes.performance.units import Unit
from mes.production.models import ProductionEvent
from mes.quality.models import HoldRecord

S = WorkOrderState
#: work orders on the shop floor: released and not yet completed or ended
OPEN_STATES = (S.RELEASED, S.RUNNING, S.SUSPENDED, S.HELD)
NOT_COUNTED = (S.CANCELLED,)


def due_in(period: Period) -> Any:
    return and_(
        col(WorkOrder.due_at) >= when(period.start),
        col(WorkOrder.due_at) < when(period.end),
        col(WorkOrder.status).not_in([s.value for s in NOT_COUNTED]),
    )


def outcome_case(now: datetime) -> Any:
    """The SQL of `figures.outcome` for a work order row (the same rule, so that the database
    counts; tests/dashboard hold both to the same hand-worked orders)."""
    done, due = col(WorkOrder.completed_at), col(WorkOrder.due_at)
    return case(
        (and_(done.is_not(None), done <= due), fg.Outcome.ON_TIME.value),
        (done.is_not(None), fg.Outcome.LATE.value),
        (due > when(now), fg.Outcome.PENDING.value),
        (col(WorkOrder.status).in_([s.value for s in OPEN_STATES]), fg.Outcome.OPEN_OVERDUE.value),
        else_=fg.Outcome.LATE.value,
    )


@dataclass(frozen=True, slots=True)
class Due:
    """The orders due in the period in one pass: how many of each outcome, and the quantity
    they plan (the on-time rate and the plan of `output` share it)."""

    on_time: fg.OnTime
    planned: float


def due(session: Session, period: Period, now: datetime) -> Due:
    outcome = outcome_case(now)
    rows = session.exec(
        select(outcome, func.count(), func.sum(WorkOrder.quantity))
        .where(due_in(period))
        .group_by(outcome)
    ).all()
    return Due(
        fg.on_time_of({fg.Outcome(o): int(n) for o, n, _ in rows}),
        float(sum(q or 0 for _, _, q in rows)),
    )


def on_time(session: Session, period: Period, now: datetime) -> fg.OnTime:
    return due(session, period, now).on_time


@dataclass(frozen=True, slots=True)
class Output:
    planned: float
    good: float
    scrap: float

    @property
    def ratio(self) -> float | None:
        return fg.ratio(self.good, self.planned)


def _last_operation_id() -> Any:
    """The id of the last operation of the event's work order: one backward probe of the
    (work order, seq) index per event, where joining every event to its operation made
    PostgreSQL hash the whole operation table (22 ms for a month; now 6 ms)."""
    return (
        select(Operation.id)
        .where(col(Operation.work_order_id) == col(ProductionEvent.work_order_id))
        .order_by(col(Operation.seq).desc())
        .limit(1)
        .correlate(ProductionEvent)
        .scalar_subquery()
    )


@dataclass(frozen=True, slots=True)
class Made:
    """The production events of the period in one pass, by scrap reason: finished units
    (good at the last operation of an order), the scrap reported at an operation (output),
    all scrap and the events that reported any (the Pareto)."""

    reason: str
    finished: float
    scrap_at_operations: float
    scrap: float
    scrap_events: int


def made(session: Session, period: Period) -> list[Made]:
    reason = func.coalesce(ProductionEvent.reason, "")
    at_operation = col(ProductionEvent.operation_id).is_not(None)
    rows = session.exec(
        select(  # type: ignore[call-overload]
            reason,
            func.sum(
                case(
                    (
                        col(ProductionEvent.operation_id) == _last_operation_id(),
                        ProductionEvent.good,
                    ),
                    else_=0,
                )
            ),
            func.sum(case((at_operation, ProductionEvent.scrap), else_=0)),
            func.sum(ProductionEvent.scrap),
            func.sum(case((col(ProductionEvent.scrap) != 0, 1), else_=0)),
        )
        .where(col(ProductionEvent.at) >= when(period.start))
        .where(col(ProductionEvent.at) < when(period.end))
        .group_by(reason)
    ).all()
    return [
        Made(str(r), float(g or 0), float(so or 0), float(sc or 0), int(n or 0))
        for r, g, so, sc, n in rows
    ]


def output_of(planned: float, events: Sequence[Made]) -> Output:
    return Output(
        planned, sum(m.finished for m in events), sum(m.scrap_at_operations for m in events)
    )


def scrap_by_reason(events: Sequence[Made]) -> list[fg.ParetoRow]:
    """The scrap Pareto by reason from the period's events (those that reported scrap)."""
    return fg.pareto((m.reason, m.scrap) for m in events if m.scrap_events)


def output(session: Session, period: Period) -> Output:
    """Planned: the quantity of the orders due in the period. Good: good quantity reported at
    the last operation of an order in the period (finished units). Scrap: scrap reported at
    any operation in the period."""
    planned = session.exec(select(func.sum(WorkOrder.quantity)).where(due_in(period))).one()
    return output_of(float(planned or 0), made(session, period))


@dataclass(frozen=True, slots=True)
class WipRow:
    operation: str
    name: str  # as the operation rows store it (the routing's name when released)
    work_orders: int
    quantity: float
    routing: str = ""  # a routing of the orders there (the first by id): for its names


def wip_by_order(session: Session) -> dict[int, list[tuple[fg.OperationStep, int]]]:
    """The units each open work order has at each of its steps (now)."""
    rows = session.exec(
        select(  # type: ignore[call-overload]
            WorkOrder.id,
            WorkOrder.quantity,
            WorkOrder.routing_id,
            Operation.seq,
            Operation.number,
            Operation.name,
            Operation.status,
            Operation.good + Operation.scrap + Operation.rework,
            Operation.released,
        )
        .join(Operation, col(Operation.work_order_id) == col(WorkOrder.id))
        .where(col(WorkOrder.status).in_([s.value for s in OPEN_STATES]))
    ).all()
    steps: dict[int, tuple[int, list[fg.OperationStep]]] = {}
    for wo_id, qty, routing, seq, number, name, status, processed, released in rows:
        step = fg.OperationStep(
            seq,
            number,
            name,
            status == OperationState.DONE,
            int(processed),
            int(released),
            routing or "",
        )
        steps.setdefault(int(wo_id), (int(qty), []))[1].append(step)
    return {wo: fg.wip_of_order(qty, ss) for wo, (qty, ss) in steps.items()}


def wip(session: Session) -> list[WipRow]:
    orders: dict[tuple[str, str], int] = defaultdict(int)
    units: dict[tuple[str, str], int] = defaultdict(int)
    routings: dict[tuple[str, str], str] = {}
    for _, at_steps in sorted(wip_by_order(session).items()):
        for step, n in at_steps:
            orders[step.number, step.name] += 1
            units[step.number, step.name] += n
            routings.setdefault((step.number, step.name), step.routing)
    return [WipRow(k[0], k[1], orders[k], float(units[k]), routings[k]) for k in sorted(orders)]


def scrap_in(period: Period) -> Any:
    return and_(
        col(ProductionEvent.at) >= when(period.start),
        col(ProductionEvent.at) < when(period.end),
        col(ProductionEvent.scrap) != 0,
    )


def scrap_by(session: Session, period: Period, by: str) -> list[fg.ParetoRow]:
    """Scrap in the period by reason code (`reason`; no reason: "") or by product."""
    key: Any = (
        func.coalesce(ProductionEvent.reason, "") if by == "reason" else col(WorkOrder.product)
    )
    q = select(key, func.sum(ProductionEvent.scrap)).where(scrap_in(period))
    if by != "reason":
        q = q.join(WorkOrder, col(WorkOrder.id) == col(ProductionEvent.work_order_id))
    rows = session.exec(q.group_by(key)).all()
    return fg.pareto((str(k), float(n or 0)) for k, n in rows)


TIME_COLUMNS = tuple(TimeModel().as_record())


@dataclass(frozen=True, slots=True)
class OeeDay:
    line: str
    day: str
    kpis: Kpis


def _model(record: dict[str, float]) -> TimeModel:
    """A time model from summed stored figures. Summed in SQL, the seconds may miss the
    model's identity (PBT = APT + ASUT + ADET + ADOT + unknown) by rounding to the microsecond:
    that residue goes to the unknown time."""
    rec = {k: round(v, 6) for k, v in record.items()}
    accounted = sum(
        rec[k]
        for k in ("apt_s", "asut_s", "adet_fault_s", "adet_micro_stop_s", "adet_idle_s", "adot_s")
    )
    rec["unknown_s"] = max(round(rec["pot_s"] - rec["pdt_s"] - accounted, 6), 0.0)
    try:
        return TimeModel.from_record(rec)
    except ValueError:  # a residue beyond rounding: leave the day out rather than guess
        return TimeModel()


def oee_trend(session: Session, period: Period) -> list[OeeDay]:
    """Per line and plant day: the stored period figures of its work units (closed shifts and
    the time between them) summed, then the KPIs of the sums (ISO 22400-2)."""
    columns = [func.sum(getattr(PeriodFigures, name)) for name in TIME_COLUMNS]
    rows: Any = session.exec(
        select(PeriodFigures.line, PeriodFigures.start, *columns)  # type: ignore[call-overload]
        .where(col(PeriodFigures.start) >= when(period.start))
        .where(col(PeriodFigures.start) < when(period.end))
        .group_by(col(PeriodFigures.line), col(PeriodFigures.start))
    ).all()
    days: dict[tuple[str, str], dict[str, float]] = {}
    for line, start, *values in rows:
        acc = days.setdefault(
            (line, period.local_day(aware(start))), dict.fromkeys(TIME_COLUMNS, 0.0)
        )
        for name, v in zip(TIME_COLUMNS, values, strict=True):
            acc[name] += float(v or 0)
    return [OeeDay(line, day, kpis(_model(rec))) for (line, day), rec in sorted(days.items())]


def oee_so_far(
    session: Session, cfg: PlantConfig, units: Sequence[Unit], period: Period, now: datetime
) -> list[OeeDay]:
    """Per line, the plant day of `now` (when the period holds it) up to now: the stored
    periods of that day and the raw state intervals since the last one (the shift still
    open), as the board's tiles compute today's OEE. The stored figures alone wait for a
    shift to close: a plant in its first shift would show no trend at all."""
    zone = period.zone
    midnight = datetime.combine(now.astimezone(zone).date(), datetime.min.time(), zone)
    start, end = max(midnight, period.start), min(now, period.end)
    if start >= end:
        return []
    by_line: dict[str, list[Unit]] = defaultdict(list)
    for unit in units:
        by_line[unit.line].append(unit)
    out = []
    for line, members in sorted(by_line.items()):
        model = range_model(session, cfg, members, start, end)
        if model.pot > model.pdt:
            out.append(OeeDay(line, period.local_day(now), kpis(model)))
    return out


def lead_times(session: Session, period: Period) -> list[float]:
    """Release to completion in hours of the orders completed in the period."""
    rows = session.exec(
        select(WorkOrder.created_at, WorkOrder.completed_at)
        .where(col(WorkOrder.completed_at) >= when(period.start))
        .where(col(WorkOrder.completed_at) < when(period.end))
    ).all()
    return [
        (aware(done) - aware(released)).total_seconds() / 3600
        for released, done in rows
        if done is not None
    ]


@dataclass(frozen=True, slots=True)
class DowntimeRow:
    reason: str | None
    seconds: float
    events: int


def downtime_top(
    session: Session, period: Period, now: datetime, limit: int = 10
) -> list[DowntimeRow]:
    """Downtime events overlapping the period by reason, their time inside the period summed
    (an open event counts up to now). Closed and open stops are read apart: each condition
    then has an index (`end`), where an OR of both made the database scan every stop."""
    lo, hi = when(period.start), when(min(period.end, now))
    totals: dict[str | None, list[float]] = {}
    for closed in (True, False):
        end = DowntimeEvent.end if closed else when(now)
        inside = func.sum(
            seconds(session, later(session, DowntimeEvent.start, lo), earlier(session, end, hi))
        )
        q = select(DowntimeEvent.reason, inside, func.count()).where(col(DowntimeEvent.start) < hi)
        q = (
            q.where(col(DowntimeEvent.end) > lo)
            if closed
            else q.where(col(DowntimeEvent.end).is_(None))
        )
        for reason, secs, n in session.exec(q.group_by(col(DowntimeEvent.reason))).all():
            acc = totals.setdefault(reason, [0.0, 0])
            acc[0] += float(secs or 0)
            acc[1] += int(n)
    # julianday arithmetic (SQLite) is exact to ~0.1 ms: whole milliseconds
    rows = [DowntimeRow(r, max(round(t, 3), 0.0), int(n)) for r, (t, n) in totals.items()]
    rows.sort(key=lambda d: (-d.seconds, d.reason or ""))
    return rows[:limit]


def alarms_open(session: Session) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(AlarmCurrent)
            .where(AlarmCurrent.state != AlarmState.NORMAL.value)
        ).one()
    )


def holds_open(session: Session) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(HoldRecord).where(HoldRecord.state == "active")
        ).one()
    )


def order_totals(session: Session, ids: Sequence[int]) -> dict[int, tuple[float, float]]:
    """(good at the last operation, scrap at every operation) of each work order."""
    if not ids:
        return {}
    rows = session.exec(
        select(Operation.work_order_id, Operation.seq, Operation.good, Operation.scrap).where(
            col(Operation.work_order_id).in_(list(ids))
        )
    ).all()
    last: dict[int, tuple[int, int]] = {}
    scrap: dict[int, float] = defaultdict(float)
    for wo, seq, good, sc in rows:
        if wo not in last or seq > last[wo][0]:
            last[wo] = (seq, good)
        scrap[wo] += sc
    return {wo: (float(last[wo][1]), scrap[wo]) for wo in last}
