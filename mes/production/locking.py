"""Loading work orders and operations: the work-order row is locked first (reports on one
order are serialised, so its confirmations enter the outbox in order), and in a batch
(`mes.core.batch`) each row is loaded and locked once."""

from collections.abc import Sequence

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from mes.core.batch import memo
from mes.core.errors import Refusal, RefusalCode
from mes.orders.models import Operation, WorkOrder
from mes.production import genealogy


def work_order(session: Session, number_or_id: str | int) -> WorkOrder:
    """The work order, locked (FOR UPDATE) for this transaction."""
    key = (
        "wo",
        number_or_id if isinstance(number_or_id, int) else number_or_id.strip().upper(),
    )
    rows = memo(session)
    if rows is not None and key in rows:
        cached: WorkOrder = rows[key]  # locked by this transaction when it was loaded
        return cached
    q = select(WorkOrder).with_for_update()
    if isinstance(number_or_id, int):
        q = q.where(WorkOrder.id == number_or_id)
    else:
        q = q.where(WorkOrder.number == key[1])
    wo = session.exec(q).first()
    if wo is None:
        raise Refusal(RefusalCode.WORK_ORDER_NOT_FOUND, f"work order {number_or_id} does not exist")
    if rows is not None:
        rows[("wo", wo.id)] = rows[("wo", wo.number)] = wo
    return wo


def operations(session: Session, wo: WorkOrder) -> list[Operation]:
    """The work order's operations in sequence."""
    rows = memo(session)
    if rows is not None and ("ops", wo.id) in rows:
        return list(rows[("ops", wo.id)])
    ops = list(
        session.exec(
            select(Operation).where(Operation.work_order_id == wo.id).order_by(col(Operation.seq))
        ).all()
    )
    if rows is not None:
        rows[("ops", wo.id)] = ops
    return list(ops)


# A batch's reads, built once (every batch reuses the statement and its cache key). The
# operations are read in a second statement, after the work-order locks are granted: joined
# into the locking statement, a row that waited for another replica's commit would come back
# with the operation as it was before that commit (READ COMMITTED), and its counts be lost.
_LOCK_WORK_ORDERS = (
    select(WorkOrder)
    .where(col(WorkOrder.number).in_(bindparam("numbers", expanding=True)))
    .order_by(col(WorkOrder.id))
    .with_for_update()
)
_OPERATIONS = (
    select(Operation)
    .where(col(Operation.work_order_id).in_(bindparam("ids", expanding=True)))
    .order_by(col(Operation.work_order_id), col(Operation.seq))
)


def prefetch(session: Session, work_orders: Sequence[str]) -> None:
    """Load and lock a batch's work orders with their operations and lots, a query each, so
    that the batch's requests find them in the memo instead of querying one by one."""
    rows = memo(session)
    if rows is None or not work_orders:
        return
    known = {key[1] for key in rows if key[0] == "wo"}
    numbers = sorted({n.strip().upper() for n in work_orders} - known)
    if not numbers:
        return
    found = session.exec(_LOCK_WORK_ORDERS, params={"numbers": numbers}).all()
    ids = [wo.id for wo in found]
    ops: dict[int | None, list[Operation]] = {i: [] for i in ids}
    for op in session.exec(_OPERATIONS, params={"ids": ids}):
        ops[op.work_order_id].append(op)
    for wo in found:
        rows[("wo", wo.id)] = rows[("wo", wo.number)] = wo
        rows[("ops", wo.id)] = ops[wo.id]
    genealogy.prefetch(session, [i for i in ids if i is not None])
