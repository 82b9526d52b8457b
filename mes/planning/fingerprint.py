"""What the plan depends on, as one digest per part: a part whose digest changed is a reason
to replan (a new, changed or cancelled order; an operation started, finished early or late; a
breakdown; a material receipt; a lock; a calendar edit)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from mes.orders.models import Operation, WorkOrder
from mes.orders.stock_models import MaterialReceipt, MaterialStock
from mes.performance.models import CalendarVersionRecord, DowntimeEvent
from mes.performance.states import MachineState
from mes.planning.models import SlotLockRecord
from mes.planning.problem import PLANNED_ORDERS


def _digest(rows: Iterable[Any]) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(repr(tuple(row) if isinstance(row, tuple) else (row,)).encode())
    return h.hexdigest()[:16]


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
