"""`_erp/acks`: the ERP acknowledges a confirmation; the final one closes its work order."""

import json
import logging

from sqlmodel import Session, select

from mes.core import audit
from mes.core.clock import utcnow
from mes.core.errors import IllegalTransition
from mes.orders.models import WorkOrder
from mes.orders.states import Close, WorkOrderState, WorkOrderStatus
from mes.outbox.store import mark_acked

log = logging.getLogger(__name__)


def apply_ack(session: Session, raw: bytes | str) -> str | None:
    """Record the ack; returns the work-order number when this ack closed it. Bad or unknown
    acks are logged and ignored (the caller commits)."""
    try:
        data = json.loads(raw)
        message_id = data["message_id"]
        if not isinstance(message_id, str) or "\x00" in message_id:
            raise TypeError("message_id must be a string without NUL")
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring ERP ack that is not {'message_id': '...'}: %s", exc)
        return None
    row = mark_acked(session, message_id)
    if row is None:
        log.warning("ERP ack for unknown message %s ignored", message_id)
        return None
    if not row.final or row.work_order_id is None:
        return None
    wo = session.exec(
        select(WorkOrder).where(WorkOrder.id == row.work_order_id).with_for_update()
    ).one()
    if wo.status != WorkOrderState.COMPLETED or wo.final_message_id != message_id:
        return None
    try:
        wo.status = WorkOrderStatus(WorkOrderState.COMPLETED).apply(Close()).state
    except IllegalTransition:  # pragma: no cover - guarded above
        return None
    wo.closed_at = utcnow()
    session.add(wo)
    audit.record(session, audit.ERP, "work_order.close", wo.number or "", {"ack": message_id})
    return wo.number
