"""Where an action may happen and what it writes: the operation a station works on, the hold
check, state moves through the machines of `mes.orders.states`, and production event rows."""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from mes.core import audit
from mes.core.batch import batch_of
from mes.core.clock import utcnow
from mes.core.errors import IllegalTransition, Refusal, RefusalCode
from mes.masterdata.models import Workstation
from mes.orders.models import Operation, WorkOrder, WorkOrderHold
from mes.orders.states import (
    OperationEvent,
    OperationState,
    WorkOrderEvent,
    WorkOrderState,
    WorkOrderStatus,
    next_operation_state,
)
from mes.production.holds import HoldPolicy
from mes.production.locking import operations
from mes.production.models import ProductionEvent
from mes.production.rules import may_be_held, refuse_if_any, refuse_unless_workable


def _station_may_work(session: Session, op: Operation, workstation: str | None) -> bool:
    if workstation is None or op.workstation == workstation:
        return True
    if op.work_centre is None:
        return False
    ws = session.get(Workstation, workstation)
    return ws is not None and ws.work_centre == op.work_centre


def pick(
    session: Session, wo: WorkOrder, operation: str | None, workstation: str | None
) -> tuple[Operation, Operation | None, Operation | None]:
    """The operation, its predecessor and its successor."""
    ops = operations(session, wo)
    if operation is None:
        mine = [o for o in ops if _station_may_work(session, o, workstation)]
        open_ = [o for o in mine if o.status != OperationState.DONE]
        if not mine:
            raise Refusal(
                RefusalCode.WRONG_WORKSTATION,
                f"{wo.number} has no operation for station {workstation}",
            )
        chosen = (open_ or mine)[0]
    else:
        found = [o for o in ops if o.number == operation.strip()]
        if not found:
            raise Refusal(
                RefusalCode.OPERATION_NOT_FOUND, f"{wo.number} has no operation {operation}"
            )
        chosen = found[0]
        if not _station_may_work(session, chosen, workstation):
            where = chosen.workstation or f"work centre {chosen.work_centre}"
            raise Refusal(
                RefusalCode.WRONG_WORKSTATION,
                f"{wo.number}/{chosen.number} is done at {where}, not at {workstation}",
            )
    i = ops.index(chosen)
    return chosen, ops[i - 1] if i > 0 else None, ops[i + 1] if i + 1 < len(ops) else None


def refuse_if_held(
    session: Session,
    holds: HoldPolicy,
    wo: WorkOrder,
    op: Operation | None,
    workstation: str | None,
    lots: Sequence[str] = (),
) -> None:
    """Refuse when the work order's own hold set, or a quality hold on the order, the
    operation, the workstation or `lots`, is active."""
    found: dict[str, str] = {}
    if may_be_held(wo):
        found = {
            h.hold_id: h.reason
            for h in session.exec(
                select(WorkOrderHold).where(WorkOrderHold.work_order_id == wo.id)
            ).all()
        }
    batch = batch_of(session)
    if batch is None or batch.holds_possible:
        for hid, reason in holds.blocking(
            session, wo.id, op.id if op else None, workstation, list(lots)
        ):
            if not found.get(hid):
                found[hid] = reason
    refuse_if_any(wo.number, sorted(found.items()))


def refuse_unless_running(
    session: Session,
    holds: HoldPolicy,
    wo: WorkOrder,
    op: Operation,
    workstation: str | None,
    lots: Sequence[str] = (),
) -> None:
    refuse_if_held(session, holds, wo, op, workstation, lots)
    refuse_unless_workable(wo)
    if op.status != OperationState.RUNNING:
        raise Refusal(
            RefusalCode.OPERATION_NOT_RUNNING,
            f"{wo.number}/{op.number} is {op.status}, not running",
        )


def _status(wo: WorkOrder, session: Session) -> WorkOrderStatus:
    holds = frozenset(
        session.exec(
            select(WorkOrderHold.hold_id).where(WorkOrderHold.work_order_id == wo.id)
        ).all()
    )
    held_from = WorkOrderState(wo.held_from) if wo.held_from else None
    return WorkOrderStatus(WorkOrderState(wo.status), holds, held_from)


def move_work_order(session: Session, wo: WorkOrder, event: WorkOrderEvent) -> None:
    try:
        status = _status(wo, session).apply(event)
    except IllegalTransition as exc:
        raise Refusal(RefusalCode.ILLEGAL_STATE, f"{wo.number}: {exc}") from None
    wo.status = status.state
    wo.held_from = status.held_from
    session.add(wo)


def move_operation(wo: WorkOrder, op: Operation, event: OperationEvent) -> None:
    try:
        op.status = next_operation_state(OperationState(op.status), event)
    except IllegalTransition as exc:
        raise Refusal(RefusalCode.ILLEGAL_STATE, f"{wo.number}/{op.number}: {exc}") from None


def _actor(operator: str | None, workstation: str | None) -> str:
    """Who acted when the caller did not say: the operator, else the station, else the MES."""
    if operator:
        return audit.actor("operator", operator)
    if workstation:
        return audit.actor("station", workstation)
    return audit.system("production")


def record_event(
    session: Session,
    kind: str,
    wo: WorkOrder,
    op: Operation | None,
    *,
    workstation: str | None,
    operator: str | None,
    actor: str | None,
    at: datetime | None,
    crew: Sequence[str] = (),
    **fields: Any,
) -> ProductionEvent:
    """Add a production event; outside a batch it is flushed at once (its id is known)."""
    assert wo.id is not None
    detail = fields.pop("detail", None)
    if len(crew) > 1:  # `operator` is the first; the event keeps who else was logged in
        detail = {**(detail or {}), "operators": list(crew)}
    ev = ProductionEvent(
        kind=kind,
        at=at or utcnow(),
        work_order_id=wo.id,
        operation_id=op.id if op else None,
        workstation=workstation,
        operator=operator,
        actor=actor or _actor(operator, workstation),
        detail_json=json.dumps(detail or {}, sort_keys=True, default=str),
        **fields,
    )
    session.add(ev)
    batch = batch_of(session)
    if batch is None:
        session.flush()
    else:
        batch.events.append(ev)
    return ev
