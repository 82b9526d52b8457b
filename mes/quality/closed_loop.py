"""Telemetry to quality: an alarm with a quality action holds what its workstation produced in
the affected window, and the work orders running there (so that reporting stops until quality
decides)."""

from datetime import datetime

from sqlmodel import Session, col, select

from mes.core import audit
from mes.orders.models import Operation, WorkOrder
from mes.orders.states import FINISHED
from mes.production.models import Lot, ProductionEvent
from mes.quality.holds import Target, TargetKind
from mes.quality.holds_service import place_hold
from mes.quality.models import HoldRecord

#: operation states in which a workstation is working on a job
WORKING = ("RUNNING", "PAUSED")
OWNER = "quality"
BY = audit.system("closed-loop")


def affected_targets(session: Session, workstation: str, start: datetime) -> list[Target]:
    """Work orders that ran or reported at `workstation` since `start` and are not finished,
    and the lots all of them made since then."""
    wo_ids = set(
        session.exec(
            select(ProductionEvent.work_order_id)
            .where(ProductionEvent.workstation == workstation)
            .where(ProductionEvent.at >= start)
        )
    )
    wo_ids |= set(
        session.exec(
            select(Operation.work_order_id)
            .where(Operation.workstation == workstation)
            .where(col(Operation.status).in_(WORKING))
        )
    )
    if not wo_ids:
        return []
    orders = session.exec(
        select(WorkOrder).where(col(WorkOrder.id).in_(wo_ids)).order_by(col(WorkOrder.id))
    ).all()
    lots = session.exec(
        select(Lot.code)
        .where(col(Lot.work_order_id).in_(wo_ids))
        .where(Lot.created_at >= start)
        .order_by(col(Lot.id))
    ).all()
    # a finished order is not held (nothing more is made on it); what it made is, by lot
    targets = [
        Target(TargetKind.WORK_ORDER, wo.number)
        for wo in orders
        if wo.number and wo.status not in FINISHED
    ]
    return targets + [Target(TargetKind.LOT, code) for code in dict.fromkeys(lots)]


def hold_affected_window(
    session: Session, workstation: str, start: datetime, reason: str, source: str
) -> list[HoldRecord]:
    """Place the closed-loop holds (once per source and target). Not committed."""
    already = {
        (r.target_kind, r.target_id)
        for r in session.exec(select(HoldRecord).where(HoldRecord.source == source))
    }
    placed = []
    for t in affected_targets(session, workstation, start):
        if (t.kind.value, t.id) in already:
            continue
        placed.append(place_hold(session, t, reason, OWNER, BY, source=source))
    return placed
