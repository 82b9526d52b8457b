"""Apply ERP order messages to the database (inside the caller's transaction)."""

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, delete, func, select

from mes.core import audit
from mes.core.clock import utcnow
from mes.masterdata.models import Product, Routing, RoutingComponent, RoutingOperation
from mes.orders.erp_messages import (
    MAX_MESSAGE_BYTES,
    CancelMessage,
    Catalogue,
    ChangeMessage,
    ExistingOrder,
    OrderMessage,
    Rejection,
    ReleaseMessage,
    check_command,
    parse_order_message,
    rejection_payload,
)
from mes.orders.models import ErpMessage, ErpOrder, Operation, WorkOrder
from mes.orders.states import Cancel, OperationState, Release, WorkOrderState, WorkOrderStatus
from mes.outbox.store import enqueue

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IntakeResult:
    outcome: str  # applied | duplicate | rejected
    message_id: str | None
    erp_id: str | None
    work_order: str | None = None
    rejection: Rejection | None = None


def apply_erp_message(
    session: Session,
    raw: bytes | str,
    *,
    publish_rejection: bool = True,
    actor: str = audit.ERP,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> IntakeResult:
    """Validate fully, then apply; a rejection goes to the outbox (`_erp/orders/rejected`).
    The caller commits. A message_id seen before changes nothing. A payload over `max_bytes`
    is rejected unread."""
    parsed = parse_order_message(raw, max_bytes)
    command = parsed.command
    rejection = parsed.rejection
    message_id = command.message_id if command else (rejection.message_id if rejection else None)
    if message_id is not None:
        seen = session.get(ErpMessage, message_id)
        if seen is not None:
            return IntakeResult(
                "duplicate",
                message_id,
                seen.erp_id,
                seen.work_order,
                Rejection(seen.error_code, "already rejected", message_id, seen.erp_id)
                if seen.error_code
                else None,
            )
    if command is not None:
        existing_wo = _work_order_for(session, command.order.erp_id)
        rejection = check_command(command, _catalogue(session), _existing(session, existing_wo))
    if rejection is not None:
        if message_id is not None:
            session.add(
                ErpMessage(
                    message_id=message_id,
                    erp_id=rejection.erp_id,
                    type=command.type if command else None,
                    outcome="rejected",
                    error_code=rejection.code,
                )
            )
        if publish_rejection:
            enqueue(
                session,
                "rejection",
                rejection_payload(rejection, parsed.received),
                erp_id=rejection.erp_id,
            )
        log.warning("ERP message %s rejected: %s %s", message_id, rejection.code, rejection.message)
        return IntakeResult("rejected", message_id, rejection.erp_id, rejection=rejection)
    assert command is not None
    wo = _apply(session, command, existing_wo, actor)
    session.add(
        ErpMessage(
            message_id=command.message_id,
            erp_id=command.order.erp_id,
            type=command.type,
            outcome="applied",
            work_order=wo.number if wo else None,
        )
    )
    return IntakeResult(
        "applied", command.message_id, command.order.erp_id, wo.number if wo else None
    )


def _catalogue(session: Session) -> Catalogue:
    products = frozenset(session.exec(select(Product.code)).all())
    routings = {r.id: r.product for r in session.exec(select(Routing)).all()}
    return Catalogue(products, routings)


def _work_order_for(session: Session, erp_id: str) -> WorkOrder | None:
    return session.exec(
        select(WorkOrder).where(WorkOrder.erp_id == erp_id).with_for_update()
    ).first()


def _existing(session: Session, wo: WorkOrder | None) -> ExistingOrder | None:
    if wo is None:
        return None
    reported = session.exec(
        select(func.max(Operation.good + Operation.scrap + Operation.rework)).where(
            Operation.work_order_id == wo.id
        )
    ).one()
    return ExistingOrder(wo.status, wo.started_at is not None, int(reported or 0), wo.quantity)


def _apply(
    session: Session, command: OrderMessage, wo: WorkOrder | None, actor: str
) -> WorkOrder | None:
    if isinstance(command, ReleaseMessage):
        return _release(session, command, wo, actor)
    assert wo is not None
    erp = session.get(ErpOrder, wo.erp_order_id)
    assert erp is not None
    erp.last_message_id = command.message_id
    erp.updated_at = utcnow()
    if isinstance(command, ChangeMessage):
        changes: dict[str, Any] = {}
        if command.order.quantity is not None:
            erp.quantity = wo.quantity = command.order.quantity
            changes["quantity"] = command.order.quantity
        if command.order.due_at is not None:
            erp.due_at = wo.due_at = command.order.due_at
            changes["due_at"] = command.order.due_at.isoformat()
        audit.record(session, actor, "order.change", wo.number or "", changes)
    elif isinstance(command, CancelMessage) and wo.status != WorkOrderState.CANCELLED:
        wo.status = WorkOrderStatus(WorkOrderState(wo.status)).apply(Cancel()).state
        audit.record(session, actor, "order.cancel", wo.number or "")
    session.add_all([erp, wo])
    return wo


def _release(
    session: Session, command: ReleaseMessage, wo: WorkOrder | None, actor: str
) -> WorkOrder:
    o = command.order
    components = json.dumps([c.model_dump() for c in o.components])
    if wo is None:
        erp = ErpOrder(
            erp_id=o.erp_id,
            product=o.product,
            quantity=o.quantity,
            unit=o.unit,
            due_at=o.due_at,
            priority=o.priority,
            routing_id=o.routing,
            components_json=components,
            last_message_id=command.message_id,
        )
        session.add(erp)
        session.flush()
        assert erp.id is not None
        wo = WorkOrder(
            erp_order_id=erp.id,
            erp_id=o.erp_id,
            product=o.product,
            quantity=0,
            routing_id=o.routing,
        )
        action = "order.release"
    else:
        erp = session.get(ErpOrder, wo.erp_order_id)  # type: ignore[assignment]
        assert erp is not None
        erp.product, erp.quantity, erp.unit = o.product, o.quantity, o.unit
        erp.due_at, erp.priority, erp.routing_id = o.due_at, o.priority, o.routing
        erp.components_json, erp.last_message_id = components, command.message_id
        erp.updated_at = utcnow()
        session.add(erp)
        session.exec(delete(Operation).where(col(Operation.work_order_id) == wo.id))
        action = "order.replace"
    wo.product, wo.quantity, wo.unit = o.product, o.quantity, o.unit
    wo.due_at, wo.priority, wo.routing_id = o.due_at, o.priority, o.routing
    session.add(wo)
    session.flush()
    if wo.number is None:
        wo.number = f"WO-{wo.id:06d}"
    if wo.status == WorkOrderState.PLANNED:
        wo.status = WorkOrderStatus().apply(Release()).state
    _explode(session, wo)
    audit.record(session, actor, action, wo.number, {"erp_id": o.erp_id, "quantity": o.quantity})
    session.flush()
    return wo


def _explode(session: Session, wo: WorkOrder) -> None:
    """One operation per routing step: the first is READY, the others wait for quantity."""
    assert wo.id is not None
    steps = session.exec(
        select(RoutingOperation)
        .where(RoutingOperation.routing_id == wo.routing_id)
        .order_by(col(RoutingOperation.seq))
    ).all()
    for i, step in enumerate(steps):
        comps = session.exec(
            select(RoutingComponent).where(RoutingComponent.routing_operation_id == step.id)
        ).all()
        session.add(
            Operation(
                work_order_id=wo.id,
                seq=step.seq,
                number=step.number,
                name=step.name,
                workstation=step.workstation,
                work_centre=step.work_centre,
                cycle_time_s=step.cycle_time_s,
                setup_time_s=step.setup_time_s,
                components_json=json.dumps(
                    [
                        {
                            "product": c.product,
                            "quantity_per_unit": c.quantity_per_unit,
                            "unit": c.unit,
                        }
                        for c in comps
                    ]
                ),
                status=OperationState.READY if i == 0 else OperationState.BLOCKED,
            )
        )
