"""Pure rules of shop-floor actions on work orders and operations (no I/O)."""

from collections.abc import Sequence
from dataclasses import dataclass

from mes.core.errors import Refusal, RefusalCode
from mes.orders.models import Operation, WorkOrder
from mes.orders.states import WorkOrderState

#: production events a correction (or CMD:UNDO) may reverse
CORRECTABLE = frozenset({"quantity.good", "quantity.scrap", "quantity.rework", "material.consumed"})


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A work order / operation as a station sees it."""

    work_order_id: int
    work_order: str
    operation_id: int
    operation: str
    name: str
    work_order_state: str
    operation_state: str
    quantity: int
    good: int
    scrap: int
    rework: int
    available: int | None


@dataclass(frozen=True, slots=True)
class ProducedUnit:
    """A lot or serial built in a report; serials have quantity 1."""

    code: str
    kind: str = "lot"  # lot | serial
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class Material:
    """A scanned material (GS1: GTIN 01, lot 10, serial 21, count 30, expiry 17)."""

    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    quantity: float | None = None
    product: str | None = None
    unit: str | None = None
    expiry: str | None = None


def job_status(wo: WorkOrder, op: Operation, prev: Operation | None) -> JobStatus:
    assert wo.id is not None
    assert op.id is not None
    return JobStatus(
        wo.id,
        wo.number or "",
        op.id,
        op.number,
        op.name,
        wo.status,
        op.status,
        wo.quantity,
        op.good,
        op.scrap,
        op.rework,
        prev.released if prev else None,
    )


def refuse_unless_workable(wo: WorkOrder) -> None:
    state = WorkOrderState(wo.status)
    if state is WorkOrderState.SUSPENDED:
        raise Refusal(RefusalCode.WORK_ORDER_SUSPENDED, f"{wo.number} is suspended")
    if state not in (WorkOrderState.RELEASED, WorkOrderState.RUNNING):
        raise Refusal(
            RefusalCode.WORK_ORDER_NOT_ACTIVE, f"{wo.number} is {state} and takes no work"
        )


def refuse_if_any(work_order: str | None, holds: Sequence[tuple[str, str]]) -> None:
    """Refuse naming every (hold id, reason) in `holds`, when there is any."""
    if holds:
        text = "; ".join(
            f"{reason} (hold {hid})" if reason else f"hold {hid}" for hid, reason in holds
        )
        raise Refusal(RefusalCode.WORK_ORDER_HELD, f"{work_order} is held: {text}")


def may_be_held(wo: WorkOrder) -> bool:
    """Whether the order's own hold set can be non-empty. An order that takes work has an
    empty one (the state machine leaves HELD only when the last hold is released, and an
    abort drops them): no query on the hot reporting path."""
    return wo.status not in (WorkOrderState.RELEASED, WorkOrderState.RUNNING)
