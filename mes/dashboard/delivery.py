"""The order delivery efficiency report: per order its dates, lateness, the lead time split
into queue, run, hold and downtime, and the cause of lateness (docs/dashboard.md)."""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, delete, func, insert, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from mes.core.audit import AuditEntry
from mes.core.clock import aware
from mes.dashboard import figures as fg
from mes.dashboard.models import DeliverySplit
from mes.dashboard.periods import Period
from mes.dashboard.queries import due_in
from mes.dashboard.spans import Span
from mes.dashboard.sql import hours, hours_of, when
from mes.orders.models import Operation, WorkOrder
from mes.performance.models import DowntimeEvent
from mes.quality.models import HoldRecord

HOLD_TARGETS = ("work_order", "operation")


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    work_order: str
    erp_id: str
    product: str
    quantity: float
    state: str
    released_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    due: datetime | None
    lateness_h: float | None
    late: bool
    lead_time_h: float
    queue_h: float
    run_h: float
    hold_h: float
    downtime_h: float
    cause: str | None
    contributions_h: dict[str, float] = field(default_factory=dict)


class OrderFacts(Protocol):
    """The columns of a work order the report reads: a `WorkOrder`, or a row of
    `ORDER_COLUMNS` (a Core select, which spares loading ORM objects)."""

    @property
    def id(self) -> int | None: ...
    @property
    def number(self) -> str | None: ...
    @property
    def erp_id(self) -> str: ...
    @property
    def product(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def completed_at(self) -> datetime | None: ...
    @property
    def due_at(self) -> datetime | None: ...


ORDER_COLUMNS = (
    WorkOrder.id,
    WorkOrder.number,
    WorkOrder.erp_id,
    WorkOrder.product,
    WorkOrder.quantity,
    WorkOrder.status,
    WorkOrder.created_at,
    WorkOrder.started_at,
    WorkOrder.completed_at,
    WorkOrder.due_at,
)


@dataclass(frozen=True, slots=True)
class Figures:
    """The computed part of a report row: what `DeliverySplit` stores for a completed order."""

    lead_time_h: float
    queue_h: float
    run_h: float
    hold_h: float
    downtime_h: float
    cause: str | None
    contributions_h: dict[str, float]


@dataclass
class _Order:
    """One order's timeline in hours since the Unix epoch (see `sql.hours`)."""

    wo: OrderFacts
    runs: list[Span[float]] = field(default_factory=list)
    holds: list[Span[float]] = field(default_factory=list)
    downtime: list[Span[float]] = field(default_factory=list)
    standard_s: float = 0.0
    cycle_s: float = 0.0


class _UnitStops:
    """The stops of one workstation (they do not overlap), by start, in hours."""

    def __init__(self, rows: list[tuple[float, float]]) -> None:
        self.rows = sorted(rows)
        self.starts = [r[0] for r in self.rows]

    def during(self, lo: float, hi: float) -> list[Span[float]]:
        i = max(bisect_right(self.starts, lo) - 1, 0)
        out = []
        while i < len(self.rows) and self.rows[i][0] < hi:
            if self.rows[i][1] > lo:
                out.append(self.rows[i])
            i += 1
        return out


_NO_STOPS = _UnitStops([])


def _stops(session: Session, ids: list[int], now: datetime) -> dict[str, _UnitStops]:
    """The stops of each workstation the orders ran on, over the span its operations ran
    there: one index range per workstation, from the last stop starting by the first
    operation's start (a unit's stops do not overlap: no earlier one can reach into it)."""
    windows = (
        select(
            col(Operation.workstation).label("unit"),
            func.min(Operation.started_at).label("lo"),
            func.max(func.coalesce(Operation.ended_at, when(now))).label("hi"),
        )
        .where(col(Operation.work_order_id).in_(ids))
        .where(col(Operation.started_at).is_not(None))
        .where(col(Operation.workstation).is_not(None))
        .group_by(col(Operation.workstation))
        .subquery()
    )
    earlier_stop = aliased(DowntimeEvent)
    first_stop = (
        select(func.max(earlier_stop.start))
        .where(col(earlier_stop.work_unit) == windows.c.unit)
        .where(col(earlier_stop.start) <= windows.c.lo)
        .correlate(windows)
        .scalar_subquery()
    )
    # the bound computed once per window (a materialised CTE): folded into the join,
    # PostgreSQL ran it once per stop of the table (2.4 s)
    bounds = (
        select(
            windows.c.unit,
            func.coalesce(first_stop, windows.c.lo).label("lo"),
            windows.c.hi,
        )
        .cte("stop_bounds")
        .prefix_with("MATERIALIZED")
    )
    rows: Any = (
        session.connection()
        .execute(
            select(
                DowntimeEvent.work_unit,
                hours(session, DowntimeEvent.start),
                hours(session, func.coalesce(DowntimeEvent.end, when(now))),
            ).join(
                bounds,
                and_(
                    col(DowntimeEvent.work_unit) == bounds.c.unit,
                    col(DowntimeEvent.start) >= bounds.c.lo,
                    col(DowntimeEvent.start) < bounds.c.hi,
                ),
            )
        )
        .all()
    )
    by_unit: dict[str, list[tuple[float, float]]] = {}
    for unit, start, end in rows:
        by_unit.setdefault(unit, []).append((start, end))
    return {unit: _UnitStops(r) for unit, r in by_unit.items()}


def _load(session: Session, orders: Sequence[OrderFacts], now: datetime) -> dict[int, _Order]:
    by_id = {w.id: _Order(w) for w in orders if w.id is not None}
    if not by_id:
        return {}
    ids = list(by_id)
    now_h = hours_of(now)
    done_h = {i: hours_of(aware(o.wo.completed_at) or now) for i, o in by_id.items()}
    ops: Any = (
        session.connection()
        .execute(
            select(  # type: ignore[call-overload]
                Operation.work_order_id,
                Operation.workstation,
                hours(session, Operation.started_at),
                hours(session, Operation.ended_at),
                Operation.cycle_time_s,
                Operation.setup_time_s,
            ).where(col(Operation.work_order_id).in_(ids))
        )
        .all()
    )
    ran: list[tuple[int, str, float, float]] = []
    for wo_id, station, started, ended, cycle, setup in ops:
        o = by_id[wo_id]
        o.cycle_s += cycle
        o.standard_s += setup + cycle * o.wo.quantity
        if started is not None:
            run = (started, done_h[wo_id] if ended is None else ended)
            o.runs.append(run)
            if station is not None:
                ran.append((wo_id, station, *run))
    stops = _stops(session, ids, now)
    for wo_id, station, lo, hi in ran:
        for stop in stops.get(station, _NO_STOPS).during(lo, hi):
            by_id[wo_id].downtime.append(stop)
    numbers = {w.number: w.id for w in orders if w.number}
    released = min(aware(w.created_at) for w in orders)
    holds: Any = (
        session.connection()
        .execute(
            select(
                HoldRecord.target_id,
                hours(session, HoldRecord.placed_at),
                hours(session, HoldRecord.released_at),
            )
            .where(col(HoldRecord.target_kind).in_(HOLD_TARGETS))
            .where(
                or_(
                    col(HoldRecord.released_at) > when(released),
                    col(HoldRecord.released_at).is_(None),
                )
            )
        )
        .all()
    )
    for target, placed, lifted in holds:
        wo_id = numbers.get(target.split("/", 1)[0])
        if wo_id is not None:
            by_id[wo_id].holds.append((placed, now_h if lifted is None else lifted))
    return by_id


def _added_quantity(session: Session, numbers: Sequence[str]) -> dict[str, int]:
    """Per order: how much its quantity grew after its release (ERP changes and replaces)."""
    if not numbers:
        return {}
    rows = session.exec(
        select(AuditEntry.target, AuditEntry.action, AuditEntry.detail_json)
        .where(col(AuditEntry.target).in_(list(numbers)))
        .where(col(AuditEntry.action).in_(["order.release", "order.replace", "order.change"]))
        .order_by(col(AuditEntry.id))
    ).all()
    first: dict[str, int] = {}
    latest: dict[str, int] = {}
    for target, action, detail in rows:
        qty = json.loads(detail or "{}").get("quantity")
        if qty is None:
            continue
        if action == "order.release":
            first.setdefault(target, int(qty))
        latest[target] = int(qty)
    return {n: max(latest[n] - first[n], 0) for n in first if n in latest}


def _h(value: float) -> float:
    """Hours to the microhour (3.6 ms): what the float timestamps of `sql.hours` resolve."""
    return round(value, 6)


def figures_of(session: Session, orders: Sequence[OrderFacts], now: datetime) -> dict[int, Figures]:
    """The lead-time split and cause of lateness of each order, computed from its timeline
    (operations, workstation stops, holds, quantity changes)."""
    loaded = _load(session, orders, now)
    late_numbers = []
    for o in loaded.values():
        due, done = aware(o.wo.due_at), aware(o.wo.completed_at)
        if due is not None and (done or now) > due:
            late_numbers.append(o.wo.number or "")
    added = _added_quantity(session, late_numbers)
    out: dict[int, Figures] = {}
    for wo_id, o in loaded.items():
        w = o.wo
        released, due, done = aware(w.created_at), aware(w.due_at), aware(w.completed_at)
        times = fg.split(hours_of(released), hours_of(done or now), o.runs, o.holds, o.downtime)
        late = due is not None and (done or now) > due
        contributed: dict[fg.Cause, float] = {}
        if late and due is not None:
            extra_h = added.get(w.number or "", 0) * o.cycle_s / 3600
            window_h = (due - released).total_seconds() / 3600
            contributed = fg.contributions(times, window_h, o.standard_s / 3600, extra_h)
        cause = fg.cause_of_lateness(late, contributed)
        out[wo_id] = Figures(
            lead_time_h=_h(times.lead_h),
            queue_h=_h(times.queue_h),
            run_h=_h(times.run_h),
            hold_h=_h(times.hold_h),
            downtime_h=_h(times.downtime_h),
            cause=cause.value if cause else None,
            contributions_h={c.value: _h(h) for c, h in contributed.items()},
        )
    return out


def _row(w: OrderFacts, f: Figures, now: datetime) -> DeliveryRow:
    due, done = aware(w.due_at), aware(w.completed_at)
    return DeliveryRow(
        work_order=w.number or "",
        erp_id=w.erp_id,
        product=w.product,
        quantity=float(w.quantity),
        state=w.status,
        released_at=aware(w.created_at),
        started_at=aware(w.started_at),
        completed_at=done,
        due=due,
        lateness_h=fg.lateness_hours(due, done, now),
        late=due is not None and (done or now) > due,
        lead_time_h=f.lead_time_h,
        queue_h=f.queue_h,
        run_h=f.run_h,
        hold_h=f.hold_h,
        downtime_h=f.downtime_h,
        cause=f.cause,
        contributions_h=f.contributions_h,
    )


def rows_of(session: Session, orders: Sequence[OrderFacts], now: datetime) -> list[DeliveryRow]:
    figures = figures_of(session, orders, now)
    return [_row(w, figures[w.id], now) for w in orders if w.id is not None]


_STORED = (
    "lead_time_h",
    "queue_h",
    "run_h",
    "hold_h",
    "downtime_h",
    "cause",
    "contributions_json",
)


def _with_stored(session: Session, where: Any) -> list[tuple[OrderFacts, Figures | None]]:
    """The orders `where` selects, each with its stored split when one was written for its
    current completion (None: open, or not stored yet: computed live)."""
    split = DeliverySplit
    q = (
        select(*ORDER_COLUMNS, *(col(getattr(split, c)).label(f"stored_{c}") for c in _STORED))  # type: ignore[call-overload]
        .outerjoin(
            split,
            and_(
                col(split.work_order_id) == col(WorkOrder.id),
                col(split.completed_at) == col(WorkOrder.completed_at),
            ),
        )
        .where(where)
        .order_by(col(WorkOrder.due_at), col(WorkOrder.id))
    )
    out: list[tuple[OrderFacts, Figures | None]] = []
    for r in session.connection().execute(q).all():
        stored = None
        if r.stored_lead_time_h is not None:
            stored = Figures(
                lead_time_h=r.stored_lead_time_h,
                queue_h=r.stored_queue_h,
                run_h=r.stored_run_h,
                hold_h=r.stored_hold_h,
                downtime_h=r.stored_downtime_h,
                cause=r.stored_cause,
                contributions_h=json.loads(r.stored_contributions_json),
            )
        out.append((r, stored))
    return out


def report(session: Session, period: Period, now: datetime) -> list[DeliveryRow]:
    """Every order due in the period (cancelled ones left out), by due date. Completed orders
    read their stored split; open ones (and any completed before the split was stored) are
    computed live."""
    rows = _with_stored(session, due_in(period))
    live = figures_of(session, [w for w, f in rows if f is None], now)
    return [_row(w, f if f is not None else live[w.id], now) for w, f in rows if w.id]


def one(session: Session, number: str, now: datetime) -> DeliveryRow | None:
    rows = _with_stored(session, col(WorkOrder.number) == number)
    if not rows:
        return None
    w, f = rows[0]
    if f is None and w.id is not None:
        f = figures_of(session, [w], now)[w.id]
    return _row(w, f, now) if f is not None else None


def store(session: Session, work_order_ids: Sequence[int], now: datetime) -> int:
    """Write (or rewrite) the split of each of these orders that is completed; returns how
    many. Called when a work order completes (`DeliverySplits`) and by the backfill."""
    orders = (
        session.connection()
        .execute(
            select(*ORDER_COLUMNS)  # type: ignore[call-overload]
            .where(col(WorkOrder.id).in_(list(work_order_ids)))
            .where(col(WorkOrder.completed_at).is_not(None))
        )
        .all()
    )
    if not orders:
        return 0
    figures = figures_of(session, orders, now)
    ids = list(figures)
    session.connection().execute(
        delete(DeliverySplit).where(col(DeliverySplit.work_order_id).in_(ids))
    )
    session.connection().execute(
        insert(DeliverySplit),
        [
            {
                "work_order_id": w.id,
                "completed_at": w.completed_at,
                "lead_time_h": f.lead_time_h,
                "queue_h": f.queue_h,
                "run_h": f.run_h,
                "hold_h": f.hold_h,
                "downtime_h": f.downtime_h,
                "cause": f.cause,
                "contributions_json": json.dumps(f.contributions_h, sort_keys=True),
            }
            for w in orders
            for f in [figures[w.id]]
        ],
    )
    return len(ids)


def backfill(session: Session, now: datetime, chunk: int = 500) -> int:
    """Store the split of every completed order that has none for its completion (an
    upgraded database's history, or orders completed outside `DeliverySplits`)."""
    split = DeliverySplit
    missing = [
        int(i)
        for (i,) in session.connection()
        .execute(
            select(WorkOrder.id)  # type: ignore[call-overload]
            .outerjoin(
                split,
                and_(
                    col(split.work_order_id) == col(WorkOrder.id),
                    col(split.completed_at) == col(WorkOrder.completed_at),
                ),
            )
            .where(col(WorkOrder.completed_at).is_not(None))
            .where(col(split.work_order_id).is_(None))
            .order_by(col(WorkOrder.id))
        )
        .all()
    ]
    done = 0
    for at in range(0, len(missing), chunk):
        done += store(session, missing[at : at + chunk], now)
    return done


class DeliverySplits:
    """Production's completion hook (`mes.production.completion.OrderCompleted`): stores the
    order's split in the completing transaction."""

    def completed(self, session: Session, wo: WorkOrder, now: datetime) -> None:
        if wo.id is not None:
            session.flush()
            store(session, [wo.id], now)
