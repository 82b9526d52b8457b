"""What the plan depends on, as one digest per part: a part whose digest changed is a reason
to replan (a new, changed or cancelled order; an operation started or finished early; a
breakdown; a material receipt; a lock; a calendar edit), and the operations running late
against the current plan (`late_digest`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from mes.orders.models import Operation, WorkOrder
from mes.orders.states import OperationState
from mes.orders.stock_models import MaterialReceipt, MaterialStock
from mes.performance.models import CalendarVersionRecord, DowntimeEvent
from mes.performance.states import MachineState
from mes.planning.models import PlanRecord, PlanSlot, SlotLockRecord
from mes.planning.problem import PLANNED_ORDERS


def _digest(rows: Iterable[Any]) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(repr(tuple(row) if isinstance(row, tuple) else (row,)).encode())
    return h.hexdigest()[:16]


#: the digest of no rows (no open order, no lock, ...)
NOTHING = _digest(())


def floor_digests(session: Session) -> dict[str, str]:
    """One digest per part the plan depends on (cheap: a few indexed queries)."""
    open_orders = select(WorkOrder.id).where(col(WorkOrder.status).in_(PLANNED_ORDERS))
    return {
        "orders": _digest(
            (w.number, w.status, w.quantity, w.due_at, w.priority)
            for w in session.exec(
                select(WorkOrder)
                .where(col(WorkOrder.status).in_(PLANNED_ORDERS))
                .order_by(col(WorkOrder.id))
            )
        ),
        "operations": _digest(
            session.exec(
                select(Operation.id, Operation.status, Operation.workstation)
                .where(col(Operation.work_order_id).in_(open_orders))
                .order_by(col(Operation.id))
            )
        ),
        "breakdowns": _digest(
            session.exec(
                select(DowntimeEvent.work_unit, DowntimeEvent.start)
                .where(col(DowntimeEvent.end).is_(None))
                .where(col(DowntimeEvent.state) == MachineState.FAULT)
                .order_by(col(DowntimeEvent.work_unit))
            )
        ),
        "stock": _digest(
            list(
                session.exec(
                    select(MaterialStock.material, MaterialStock.message_id).order_by(
                        col(MaterialStock.material)
                    )
                )
            )
            + list(session.exec(select(MaterialReceipt.id).order_by(col(MaterialReceipt.id))))
        ),
        "locks": _digest(
            session.exec(
                select(
                    SlotLockRecord.work_order,
                    SlotLockRecord.operation,
                    SlotLockRecord.workstation,
                    SlotLockRecord.start,
                ).order_by(col(SlotLockRecord.work_order), col(SlotLockRecord.operation))
            )
        ),
        "calendars": _digest(
            session.exec(select(CalendarVersionRecord.id).order_by(col(CalendarVersionRecord.id)))
        ),
    }


def combined(digests: dict[str, str]) -> str:
    return _digest(sorted(digests.items()))


def changed_parts(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [k for k in after if before.get(k) != after[k]]


#: the part of the digests that follows the clock: operations late against the current plan
LATE = "late"


def late_digest(session: Session, now: datetime) -> str:
    """The operations of the current plan that should have ended by `now` and have not (a
    running operation overrunning, or one that never started): each one that turns late is a
    reason to replan. An operation started a little late is not: it shows when it overruns."""
    newest = select(PlanRecord.id).order_by(col(PlanRecord.id).desc()).limit(1).scalar_subquery()
    late = session.exec(
        select(PlanSlot.work_order, PlanSlot.operation)
        .join(WorkOrder, col(WorkOrder.number) == col(PlanSlot.work_order))
        .join(
            Operation,
            (col(Operation.work_order_id) == col(WorkOrder.id))
            & (col(Operation.number) == col(PlanSlot.operation)),
        )
        .where(col(PlanSlot.plan_id) == newest)
        .where(col(PlanSlot.end) <= now)
        .where(col(Operation.status) != OperationState.DONE)
        .order_by(col(PlanSlot.id))
    )
    return _digest(late)
