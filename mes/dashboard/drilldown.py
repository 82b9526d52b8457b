"""The work orders behind a figure (a tap on the owner's page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func
from sqlmodel import Session, col, select

from mes.core.clock import aware
from mes.dashboard import figures as fg
from mes.dashboard.periods import Period
from mes.dashboard.queries import due_in, order_totals, outcome_case, scrap_in, wip_by_order
from mes.orders.models import WorkOrder
from mes.production.models import ProductionEvent

Figure = Literal["due", "on_time", "late", "open_overdue", "wip", "scrap"]


@dataclass(frozen=True, slots=True)
class Filters:
    operation: str | None = None
    reason: str | None = None
    product: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRow:
    work_order: str
    product: str
    quantity: float
    good: float
    scrap: float
    state: str
    released_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    due: datetime | None
    lateness_h: float | None
    #: the order's part of the figure: WIP units at the operation, scrap in the period
    figure_quantity: float | None


def orders(
    session: Session, figure: str, period: Period, now: datetime, filters: Filters, limit: int
) -> list[OrderRow]:
    part: dict[int, float] = {}
    q = select(WorkOrder)
    if figure in ("due", "on_time", "late", "open_overdue"):
        q = q.where(due_in(period))
        if figure == "late":
            wanted = [fg.Outcome.LATE.value, fg.Outcome.OPEN_OVERDUE.value]
            q = q.where(outcome_case(now).in_(wanted))
        elif figure != "due":
            q = q.where(outcome_case(now) == figure)
        else:
            q = q.where(outcome_case(now) != fg.Outcome.PENDING.value)
        q = q.order_by(col(WorkOrder.due_at), col(WorkOrder.id))
    elif figure == "wip":
        for wo, steps in wip_by_order(session).items():
            n = sum(u for s, u in steps if filters.operation in (None, s.number))
            if n:
                part[wo] = float(n)
        q = q.where(col(WorkOrder.id).in_(list(part))).order_by(col(WorkOrder.id))
    else:
        scrapped: Any = func.sum(ProductionEvent.scrap)
        sq = select(ProductionEvent.work_order_id, scrapped).where(scrap_in(period))
        if filters.reason is not None:
            sq = sq.where(func.coalesce(ProductionEvent.reason, "") == filters.reason)
        sq = sq.group_by(col(ProductionEvent.work_order_id))
        part = {int(w): float(n or 0) for w, n in session.exec(sq).all() if n}
        q = q.where(col(WorkOrder.id).in_(list(part)))
    if filters.product is not None:
        q = q.where(WorkOrder.product == filters.product)
    rows = list(session.exec(q.limit(limit)).all())
    if figure == "scrap":
        rows.sort(key=lambda w: (-part.get(w.id or 0, 0), w.id))
    totals = order_totals(session, [w.id for w in rows if w.id is not None])
    out = []
    for w in rows:
        assert w.id is not None
        good, scrap = totals.get(w.id, (0.0, 0.0))
        due, done = aware(w.due_at), aware(w.completed_at)
        out.append(
            OrderRow(
                work_order=w.number or "",
                product=w.product,
                quantity=float(w.quantity),
                good=good,
                scrap=scrap,
                state=w.status,
                released_at=aware(w.created_at),
                started_at=aware(w.started_at),
                completed_at=done,
                due=due,
                lateness_h=fg.lateness_hours(due, done, now),
                figure_quantity=part.get(w.id),
            )
        )
    return out
