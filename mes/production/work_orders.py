"""Work-order administration: suspend, resume and abort (supervisor), and the order's own
set of active holds (entered and left by quality holds)."""

from typing import Any

from sqlmodel import Session, select

from mes.core import audit
from mes.core.errors import Refusal, RefusalCode
from mes.orders.models import WorkOrder, WorkOrderHold
from mes.orders.states import Abort, PlaceHold, ReleaseHold, Resume, Suspend
from mes.production.locking import work_order
from mes.production.moves import move_work_order, record_event


def _order_event(session: Session, kind: str, wo: WorkOrder, actor: str, **fields: Any) -> None:
    """A production event of the whole order (no operation, no station)."""
    record_event(
        session, kind, wo, None, workstation=None, operator=None, actor=actor, at=None, **fields
    )


def suspend_work_order(session: Session, number: str, *, actor: str, reason: str) -> None:
    wo = work_order(session, number)
    move_work_order(session, wo, Suspend(reason))
    _order_event(session, "work_order.suspended", wo, actor, reason=reason)
    audit.record(session, actor, "work_order.suspend", wo.number or "", {"reason": reason})


def resume_work_order(session: Session, number: str, *, actor: str) -> None:
    wo = work_order(session, number)
    move_work_order(session, wo, Resume())
    _order_event(session, "work_order.resumed", wo, actor)
    audit.record(session, actor, "work_order.resume", wo.number or "")


def abort_work_order(session: Session, number: str, *, actor: str, reason: str) -> None:
    """Stop a started work order for good (supervisor); its holds are dropped with it."""
    if not reason.strip():
        raise Refusal(RefusalCode.REASON_REQUIRED, "aborting a work order needs a reason")
    wo = work_order(session, number)
    move_work_order(session, wo, Abort(reason))
    for row in session.exec(select(WorkOrderHold).where(WorkOrderHold.work_order_id == wo.id)):
        session.delete(row)
    _order_event(session, "work_order.aborted", wo, actor, reason=reason[:64])
    audit.record(session, actor, "work_order.abort", wo.number or "", {"reason": reason})


#: a priority a supervisor may give (the ERP message's range, docs/contracts.md)
PRIORITY_MAX = 1000
#: orders whose priority no longer matters: nothing left to plan
_CLOSED = ("COMPLETED", "CLOSED", "CANCELLED", "ABORTED")


def reprioritise_work_order(
    session: Session, number: str, *, actor: str, priority: int, reason: str
) -> int:
    """Give an open order another priority (supervisor; the planner weighs its lateness by
    1 + priority). Answers the priority it had."""
    if not reason.strip():
        raise Refusal(RefusalCode.REASON_REQUIRED, "a new priority needs a reason")
    wo = work_order(session, number)
    if wo.status in _CLOSED:
        raise Refusal(
            RefusalCode.ILLEGAL_STATE,
            f"work order {wo.number} is {wo.status.lower()}: its priority no longer matters",
        )
    before = wo.priority
    wo.priority = priority
    session.add(wo)
    audit.record(
        session,
        actor,
        "work_order.reprioritise",
        wo.number or "",
        {"from": before, "to": priority, "reason": reason},
    )
    return before


def hold_work_order(
    session: Session, wo_id: int | str, hold_id: str, reason: str = "", actor: str = "quality"
) -> None:
    """Add a hold to the order's set of active holds (idempotent per hold_id)."""
    wo = work_order(session, wo_id)
    assert wo.id is not None
    if session.get(WorkOrderHold, (wo.id, hold_id)) is not None:
        return
    move_work_order(session, wo, PlaceHold(hold_id))
    session.add(WorkOrderHold(work_order_id=wo.id, hold_id=hold_id, reason=reason))
    _order_event(
        session,
        "work_order.held",
        wo,
        actor,
        reason=hold_id[:64],
        detail={"hold_id": hold_id, "reason": reason},
    )


def release_work_order_hold(
    session: Session, wo_id: int | str, hold_id: str, actor: str = "quality"
) -> bool:
    """Remove one hold; the order returns to its previous state when none is left.
    Returns False when that hold was not active on the order."""
    wo = work_order(session, wo_id)
    assert wo.id is not None
    row = session.get(WorkOrderHold, (wo.id, hold_id))
    if row is None:
        return False
    move_work_order(session, wo, ReleaseHold(hold_id))
    session.delete(row)
    _order_event(
        session,
        "work_order.hold_released",
        wo,
        actor,
        reason=hold_id[:64],
        detail={"hold_id": hold_id},
    )
    return True
