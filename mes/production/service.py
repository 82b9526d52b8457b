"""Shop-floor actions on work orders and operations, run inside the CALLER's transaction.

The scan handler and the REST buttons call these with their own session and commit
themselves. Each function locks the work-order row first (reports on one order are serialised,
so its confirmations enter the outbox in order), checks the rules and raises `Refusal` with a
contract error code, or writes its production event, state changes and confirmation together.
Nothing here commits.
"""

import importlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from mes import audit
from mes.masterdata.models import Workstation
from mes.orders.models import Operation, WorkOrder, WorkOrderHold, utcnow
from mes.orders.states import (
    Abort,
    Block,
    Complete,
    CompleteOperation,
    IllegalTransition,
    OperationEvent,
    OperationState,
    Pause,
    PlaceHold,
    ReleaseHold,
    Resume,
    ResumeOperation,
    Start,
    StartOperation,
    Suspend,
    Unblock,
    WorkOrderEvent,
    WorkOrderState,
    WorkOrderStatus,
    next_operation_state,
)
from mes.outbox.store import enqueue, new_message_id
from mes.production import genealogy
from mes.production import refusals as R
from mes.production.batch import BATCH, memo
from mes.production.confirmation import Confirmation, MaterialLine
from mes.production.models import ProductionEvent
from mes.production.quantities import OperationCounts, check_report
from mes.production.refusals import Refusal


@dataclass(frozen=True, slots=True)
class Job:
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


#: `session.info` key, set by a caller (the scan writer) that found no active quality hold at
#: the start of its transaction and drops it as soon as the session adds one: the reporting
#: path then skips its quality-hold lookups (refusal check, confirmation `holds`). Absent,
#: they run as usual.
NO_QUALITY_HOLDS = "production.no_quality_holds"


# --- loading and checks -----------------------------------------------------------------


def _work_order(session: Session, work_order: str | int) -> WorkOrder:
    key = ("wo", work_order if isinstance(work_order, int) else work_order.strip().upper())
    rows = memo(session)
    if rows is not None and key in rows:
        cached: WorkOrder = rows[key]  # locked by this transaction when it was loaded
        return cached
    q = select(WorkOrder).with_for_update()
    if isinstance(work_order, int):
        q = q.where(WorkOrder.id == work_order)
    else:
        q = q.where(WorkOrder.number == key[1])
    wo = session.exec(q).first()
    if wo is None:
        raise Refusal(R.WORK_ORDER_NOT_FOUND, f"work order {work_order} does not exist")
    if rows is not None:
        rows[("wo", wo.id)] = rows[("wo", wo.number)] = wo
    return wo


def _operations(session: Session, wo: WorkOrder) -> list[Operation]:
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


def _station_may_work(session: Session, op: Operation, workstation: str | None) -> bool:
    if workstation is None or op.workstation == workstation:
        return True
    if op.work_centre is None:
        return False
    ws = session.get(Workstation, workstation)
    return ws is not None and ws.work_centre == op.work_centre


def _pick(
    session: Session, wo: WorkOrder, operation: str | None, workstation: str | None
) -> tuple[Operation, Operation | None, Operation | None]:
    """The operation, its predecessor and its successor."""
    ops = _operations(session, wo)
    if operation is None:
        mine = [o for o in ops if _station_may_work(session, o, workstation)]
        open_ = [o for o in mine if o.status != OperationState.DONE]
        if not mine:
            raise Refusal(
                R.WRONG_WORKSTATION, f"{wo.number} has no operation for station {workstation}"
            )
        chosen = (open_ or mine)[0]
    else:
        found = [o for o in ops if o.number == operation.strip()]
        if not found:
            raise Refusal(R.OPERATION_NOT_FOUND, f"{wo.number} has no operation {operation}")
        chosen = found[0]
        if not _station_may_work(session, chosen, workstation):
            where = chosen.workstation or f"work centre {chosen.work_centre}"
            raise Refusal(
                R.WRONG_WORKSTATION,
                f"{wo.number}/{chosen.number} is done at {where}, not at {workstation}",
            )
    i = ops.index(chosen)
    return chosen, ops[i - 1] if i > 0 else None, ops[i + 1] if i + 1 < len(ops) else None


def _active_holds(
    session: Session,
    wo: WorkOrder,
    op: Operation | None,
    workstation: str | None,
    lots: Sequence[str] = (),
) -> list[tuple[str, str]]:
    holds: dict[str, str] = {}
    # An order that takes work has an empty hold set (the state machine leaves HELD only when
    # the last hold is released, and an abort drops them): no query on the hot reporting path.
    if wo.status not in (WorkOrderState.RELEASED, WorkOrderState.RUNNING):
        holds = {
            h.hold_id: h.reason
            for h in session.exec(
                select(WorkOrderHold).where(WorkOrderHold.work_order_id == wo.id)
            ).all()
        }
    quality = _quality()
    if quality is not None and not session.info.get(NO_QUALITY_HOLDS):
        active = quality.active_holds_for(
            session, wo.id, op.id if op else None, workstation, list(lots)
        )
        for h in active:
            if not holds.get(str(h.id)):
                holds[str(h.id)] = str(getattr(h, "reason", "") or "")
    return sorted(holds.items())


def _quality() -> Any:
    """The quality holds service, when installed (it imports this module: no import cycle)."""
    try:
        return importlib.import_module("mes.quality.holds_service")
    except ImportError:
        return None


def _refuse_if_held(
    session: Session,
    wo: WorkOrder,
    op: Operation | None,
    workstation: str | None,
    lots: Sequence[str] = (),
) -> None:
    holds = _active_holds(session, wo, op, workstation, lots)
    if holds:
        text = "; ".join(
            f"{reason} (hold {hid})" if reason else f"hold {hid}" for hid, reason in holds
        )
        raise Refusal(R.WORK_ORDER_HELD, f"{wo.number} is held: {text}")


def _refuse_unless_workable(wo: WorkOrder) -> None:
    state = WorkOrderState(wo.status)
    if state is WorkOrderState.SUSPENDED:
        raise Refusal(R.WORK_ORDER_SUSPENDED, f"{wo.number} is suspended")
    if state not in (WorkOrderState.RELEASED, WorkOrderState.RUNNING):
        raise Refusal(R.WORK_ORDER_NOT_ACTIVE, f"{wo.number} is {state} and takes no work")


def _status(wo: WorkOrder, session: Session) -> WorkOrderStatus:
    holds = frozenset(
        session.exec(
            select(WorkOrderHold.hold_id).where(WorkOrderHold.work_order_id == wo.id)
        ).all()
    )
    held_from = WorkOrderState(wo.held_from) if wo.held_from else None
    return WorkOrderStatus(WorkOrderState(wo.status), holds, held_from)


def _move_wo(session: Session, wo: WorkOrder, event: WorkOrderEvent) -> None:
    try:
        status = _status(wo, session).apply(event)
    except IllegalTransition as exc:
        raise Refusal(R.ILLEGAL_STATE, f"{wo.number}: {exc}") from None
    wo.status = status.state
    wo.held_from = status.held_from
    session.add(wo)


def _move_op(wo: WorkOrder, op: Operation, event: OperationEvent) -> None:
    try:
        op.status = next_operation_state(OperationState(op.status), event)
    except IllegalTransition as exc:
        raise Refusal(R.ILLEGAL_STATE, f"{wo.number}/{op.number}: {exc}") from None


def _event(
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
        actor=actor or operator or workstation or "system",
        detail_json=json.dumps(detail or {}, sort_keys=True, default=str),
        **fields,
    )
    session.add(ev)
    if not session.info.get(BATCH):
        session.flush()
    return ev


def _confirm(
    session: Session,
    wo: WorkOrder,
    op: Operation,
    ev: ProductionEvent,
    *,
    final: bool = False,
    correction_of: str | None = None,
    scrap_reasons: dict[str, int] | None = None,
    materials: Sequence[MaterialLine] = (),
    produced: Sequence[dict[str, Any]] = (),
    disposition: dict[str, Any] | None = None,
    crew: Sequence[str] = (),
) -> str:
    """Write the operation confirmation into the outbox; returns its message_id. `crew`: every
    operator logged in at the station (the event's `operator` alone when not given)."""
    message_id = ev.confirmation_message_id or new_message_id()
    quality = _quality()
    conf = Confirmation(
        message_id=message_id,
        erp_id=wo.erp_id,
        work_order=wo.number or "",
        operation=op.number,
        workstation=ev.workstation,
        started_at=op.last_confirmed_at or op.started_at,
        ended_at=ev.at,
        good=ev.good,
        scrap=ev.scrap,
        scrap_reasons=scrap_reasons or {},
        rework=ev.rework,
        final=final,
        correction_of=correction_of,
        operators=tuple(crew) or ((ev.operator,) if ev.operator else ()),
        materials_consumed=tuple(materials),
        produced=tuple(produced),
        holds=(
            tuple(quality.erp_holds(session, wo))
            if quality is not None and not session.info.get(NO_QUALITY_HOLDS)
            else ()
        ),
        disposition=disposition,
    )
    enqueue(
        session,
        "confirmation",
        conf.as_json(),
        message_id=message_id,
        erp_id=wo.erp_id,
        work_order_id=wo.id,
        final=final,
    )
    op.last_confirmed_at = ev.at
    session.add(op)
    return message_id


def _job(wo: WorkOrder, op: Operation, prev: Operation | None) -> Job:
    assert wo.id is not None
    assert op.id is not None
    return Job(
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


# --- actions ----------------------------------------------------------------------------


def select_job(
    session: Session, work_order: str, operation: str | None = None, *, workstation: str | None
) -> Job:
    """The job a station scanned (`WO:...` or `WO:.../0020`); refused when it may not work it."""
    wo = _work_order(session, work_order)
    op, prev, _ = _pick(session, wo, operation, workstation)
    _refuse_if_held(session, wo, op, workstation)
    _refuse_unless_workable(wo)
    return _job(wo, op, prev)


def start_operation(
    session: Session,
    work_order: str,
    operation: str | None,
    *,
    workstation: str | None,
    operator: str | None,
    actor: str | None = None,
    at: datetime | None = None,
) -> Job:
    """Start (or join: several operators and stations may work one operation)."""
    wo = _work_order(session, work_order)
    op, prev, _ = _pick(session, wo, operation, workstation)
    _refuse_if_held(session, wo, op, workstation)
    _refuse_unless_workable(wo)
    if op.status == OperationState.BLOCKED:
        assert prev is not None
        raise Refusal(
            R.OUT_OF_SEQUENCE,
            f"{wo.number}/{op.number} cannot start: {prev.number} has released nothing yet",
        )
    if op.status == OperationState.PAUSED:
        raise Refusal(R.ILLEGAL_STATE, f"{wo.number}/{op.number} is paused: resume it")
    if op.status == OperationState.DONE:
        raise Refusal(R.ILLEGAL_STATE, f"{wo.number}/{op.number} is already done")
    _move_op(wo, op, StartOperation())
    now = at or utcnow()
    if op.started_at is None:
        op.started_at = now
    if wo.status == WorkOrderState.RELEASED:
        _move_wo(session, wo, Start())
        wo.started_at = now
    session.add(op)
    _event(
        session,
        "operation.started",
        wo,
        op,
        workstation=workstation,
        operator=operator,
        actor=actor,
        at=now,
    )
    return _job(wo, op, prev)


def pause_operation(
    session: Session,
    work_order: str,
    operation: str | None,
    *,
    workstation: str | None,
    operator: str | None,
    reason: str,
    actor: str | None = None,
    at: datetime | None = None,
) -> Job:
    if not reason.strip():
        raise Refusal(R.REASON_REQUIRED, "a pause needs a reason code")
    wo = _work_order(session, work_order)
    op, prev, _ = _pick(session, wo, operation, workstation)
    _move_op(wo, op, Pause(reason))
    op.pause_reason = reason.strip()
    session.add(op)
    _event(
        session,
        "operation.paused",
        wo,
        op,
        workstation=workstation,
        operator=operator,
        actor=actor,
        at=at,
        reason=op.pause_reason,
    )
    return _job(wo, op, prev)


def resume_operation(
    session: Session,
    work_order: str,
    operation: str | None,
    *,
    workstation: str | None,
    operator: str | None,
    reason: str | None = None,
    actor: str | None = None,
    at: datetime | None = None,
) -> Job:
    wo = _work_order(session, work_order)
    op, prev, _ = _pick(session, wo, operation, workstation)
    _refuse_if_held(session, wo, op, workstation)
    _refuse_unless_workable(wo)
    _move_op(wo, op, ResumeOperation())
    op.pause_reason = None
    session.add(op)
    _event(
        session,
        "operation.resumed",
        wo,
        op,
        workstation=workstation,
        operator=operator,
        actor=actor,
        at=at,
        reason=reason,
    )
    return _job(wo, op, prev)


def _running(session: Session, wo: WorkOrder, op: Operation, workstation: str | None) -> None:
    _refuse_if_held(session, wo, op, workstation)
    _refuse_unless_workable(wo)
    if op.status != OperationState.RUNNING:
        raise Refusal(
            R.OPERATION_NOT_RUNNING, f"{wo.number}/{op.number} is {op.status}, not running"
        )


def report(
    session: Session,
    work_order: str,
    operation: str | None,
    *,
    workstation: str | None,
    operator: str | None,
    tolerance_percent: float,
    good: int = 0,
    scrap: int = 0,
    scrap_reason: str | None = None,
    rework: int = 0,
    rework_reason: str | None = None,
    from_rework: int = 0,
    produced: Sequence[ProducedUnit] = (),
    actor: str | None = None,
    at: datetime | None = None,
    crew: Sequence[str] = (),
) -> ProductionEvent:
    """Report quantities on a running operation; good units are released to the next one.
    `from_rework` of the good units come back from this operation's rework pool."""
    wo = _work_order(session, work_order)
    op, prev, nxt = _pick(session, wo, operation, workstation)
    _running(session, wo, op, workstation)
    if scrap and not (scrap_reason or "").strip():
        raise Refusal(R.REASON_REQUIRED, "scrap needs a reason code")
    if rework and not (rework_reason or "").strip():
        raise Refusal(R.REASON_REQUIRED, "rework needs a reason code")
    counts = OperationCounts(
        wo.number or "",
        op.number,
        wo.quantity,
        op.good,
        op.scrap,
        op.rework,
        prev.released if prev else None,
    )
    check_report(
        counts, tolerance_percent, good=good, scrap=scrap, rework=rework, from_rework=from_rework
    )
    if produced and sum(u.quantity for u in produced) != good:
        raise Refusal(
            R.INVALID_QUANTITY,
            f"produced units add up to {sum(u.quantity for u in produced)}, not {good}",
        )
    if produced:  # a held lot or serial takes no more units
        _refuse_if_held(session, wo, op, workstation, [u.code for u in produced])
    op.good += good
    op.scrap += scrap
    op.rework += rework - from_rework
    op.released += good
    session.add(op)
    if good and nxt is not None and nxt.status != OperationState.DONE:
        _move_op(wo, nxt, Unblock())
        session.add(nxt)
    reason = (scrap_reason or "").strip() if scrap else (rework_reason or "").strip() or None
    kind = "quantity.good" if good else ("quantity.scrap" if scrap else "quantity.rework")
    if good and not produced and nxt is None:
        produced = [ProducedUnit(f"{wo.product}-{(wo.number or '')[3:]}", "lot", good)]
    ev = _event(
        session,
        kind,
        wo,
        op,
        workstation=workstation,
        operator=operator,
        actor=actor,
        at=at,
        crew=crew,
        good=good,
        scrap=scrap,
        rework=rework,
        reason=reason,
        detail={
            "from_rework": from_rework,
            "scrap_reason": scrap_reason,
            "rework_reason": rework_reason,
            "produced": [{u.kind: u.code, "quantity": u.quantity} for u in produced],
        },
        confirmation_message_id=new_message_id(),
    )
    made = genealogy.produce(session, wo, op, ev, [(u.code, u.kind, u.quantity) for u in produced])
    _confirm(
        session,
        wo,
        op,
        ev,
        scrap_reasons={scrap_reason.strip(): scrap} if scrap and scrap_reason else {},
        produced=made,
        crew=crew,
    )
    audit.record(
        session,
        ev.actor,
        kind,
        f"{wo.number}/{op.number}",
        {"good": good, "scrap": scrap, "rework": rework},
        station=workstation,
    )
    return ev


def report_good(
    session: Session,
    work_order: str,
    operation: str | None,
    *,
    quantity: int,
    workstation: str | None,
    operator: str | None,
    tolerance_percent: float,
    produced: Sequence[ProducedUnit] = (),
    actor: str | None = None,
    at: datetime | None = None,
    crew: Sequence[str] = (),
) -> ProductionEvent:
    return report(
        session,
        work_order,
        operation,
        workstation=workstation,
        operator=operator,
        tolerance_percent=tolerance_percent,
        good=quantity,
        produced=produced,
        actor=actor,
        at=at,
        crew=crew,
    )


def report_scrap(
    session: Session,
    work_order: str,
    operation: str | None,
    *,
    quantity: int,
    reason: str,
    workstation: str | None,
    operator: str | None,
    tolerance_percent: float,
    actor: str | None = None,
    at: datetime | None = None,
    crew: Sequence[str] = (),
) -> ProductionEvent:
    return report(
        session,
        work_order,
        operation,
        workstation=workstation,
        operator=operator,
        tolerance_percent=tolerance_percent,
        scrap=quantity,
        scrap_reason=reason,
        actor=actor,
        at=at,
        crew=crew,
    )


def consume_material(
    session: Session,
    work_order: str,
    operation: str | None,
    *,
    material: Material,
    workstation: str | None,
    operator: str | None,
    actor: str | None = None,
    at: datetime | None = None,
    crew: Sequence[str] = (),
) -> ProductionEvent:
    """Record a consumed lot or serial on a running operation, link it into the genealogy and
    confirm the goods issue to the ERP."""
    if not (material.lot or material.serial):
        raise Refusal(R.INVALID_QUANTITY, "a material scan needs a lot (10) or serial (21)")
    if material.quantity is not None and material.quantity <= 0:
        raise Refusal(R.INVALID_QUANTITY, f"material count must be positive: {material.quantity}")
    wo = _work_order(session, work_order)
    op, _, _ = _pick(session, wo, operation, workstation)
    codes = [c for c in (material.lot, material.serial) if c]
    _refuse_if_held(session, wo, op, workstation, codes)
    _refuse_unless_workable(wo)
    if op.status != OperationState.RUNNING:
        raise Refusal(
            R.OPERATION_NOT_RUNNING, f"{wo.number}/{op.number} is {op.status}, not running"
        )
    product, unit = genealogy.resolve_product(session, op, material.product, material.gtin)
    unit = material.unit or unit
    quantity = material.quantity if material.quantity is not None else 1.0
    ev = _event(
        session,
        "material.consumed",
        wo,
        op,
        workstation=workstation,
        operator=operator,
        actor=actor,
        at=at,
        crew=crew,
        detail={
            "product": product,
            "gtin": material.gtin,
            "lot": material.lot,
            "serial": material.serial,
            "quantity": quantity,
            "unit": unit,
        },
        confirmation_message_id=new_message_id(),
    )
    genealogy.consume(session, wo, op, ev, product, material, quantity, unit)
    line = MaterialLine(product, material.lot, material.serial, quantity, unit)
    _confirm(session, wo, op, ev, materials=[line], crew=crew)
    return ev


def complete_operation(
    session: Session,
    work_order: str,
    operation: str | None,
    *,
    workstation: str | None,
    operator: str | None,
    actor: str | None = None,
    at: datetime | None = None,
    crew: Sequence[str] = (),
) -> ProductionEvent:
    """Close an operation (short quantities stay on this work order: no backorder). Completing
    the last operation completes the work order and sends the final confirmation."""
    wo = _work_order(session, work_order)
    op, prev, nxt = _pick(session, wo, operation, workstation)
    _refuse_if_held(session, wo, op, workstation)
    _refuse_unless_workable(wo)
    if prev is not None and prev.status != OperationState.DONE:
        raise Refusal(
            R.OUT_OF_SEQUENCE,
            f"{wo.number}/{op.number} cannot complete before {prev.number} is done",
        )
    if op.status not in (OperationState.RUNNING, OperationState.PAUSED):
        raise Refusal(R.OPERATION_NOT_RUNNING, f"{wo.number}/{op.number} is {op.status}")
    _move_op(wo, op, CompleteOperation())
    ev = _event(
        session,
        "operation.completed",
        wo,
        op,
        workstation=workstation,
        operator=operator,
        actor=actor,
        at=at,
        crew=crew,
        confirmation_message_id=new_message_id(),
    )
    op.ended_at = ev.at
    final = nxt is None
    if final:
        _move_wo(session, wo, Complete())
        wo.completed_at = ev.at
    message_id = _confirm(session, wo, op, ev, final=final, crew=crew)
    if final:
        wo.final_message_id = message_id
        session.add(wo)
    audit.record(
        session, ev.actor, "operation.complete", f"{wo.number}/{op.number}", station=workstation
    )
    return ev


CORRECTABLE = frozenset({"quantity.good", "quantity.scrap", "quantity.rework", "material.consumed"})


def correct_event(
    session: Session,
    event_id: int,
    *,
    actor: str,
    reason: str,
    workstation: str | None = None,
    at: datetime | None = None,
) -> ProductionEvent:
    """Undo a report with a compensating event (the caller checks the supervisor role).
    History is never edited: the correction negates the original and names it."""
    if not reason.strip():
        raise Refusal(R.REASON_REQUIRED, "a correction needs a reason")
    original = session.get(ProductionEvent, event_id)
    if original is None:
        raise Refusal(R.EVENT_NOT_FOUND, f"production event {event_id} does not exist")
    wo = _work_order(session, original.work_order_id)
    if original.kind not in CORRECTABLE or original.operation_id is None:
        raise Refusal(R.CORRECTION_NOT_POSSIBLE, f"a {original.kind} event cannot be corrected")
    done = session.exec(
        select(ProductionEvent.id).where(ProductionEvent.correction_of == event_id)
    ).first()
    if done is not None:
        raise Refusal(
            R.CORRECTION_NOT_POSSIBLE, f"event {event_id} was already corrected by {done}"
        )
    if wo.status in (WorkOrderState.CLOSED, WorkOrderState.CANCELLED, WorkOrderState.ABORTED):
        raise Refusal(R.CORRECTION_NOT_POSSIBLE, f"{wo.number} is {wo.status}")
    ops = _operations(session, wo)
    op = next(o for o in ops if o.id == original.operation_id)
    i = ops.index(op)
    nxt = ops[i + 1] if i + 1 < len(ops) else None
    detail = json.loads(original.detail_json)
    from_rework = int(detail.get("from_rework") or 0)
    g, s, rw = original.good, original.scrap, original.rework
    if nxt is not None and nxt.good + nxt.scrap + nxt.rework > op.released - g:
        raise Refusal(
            R.CORRECTION_NOT_POSSIBLE,
            f"{wo.number}/{nxt.number} already processed {nxt.processed} of the {op.released} "
            f"released: correct it there first",
        )
    op.good -= g
    op.scrap -= s
    op.rework -= rw - from_rework
    op.released -= g
    session.add(op)
    if nxt is not None and op.released == 0 and nxt.status == OperationState.READY:
        _move_op(wo, nxt, Block())
        session.add(nxt)
    ev = _event(
        session,
        "correction",
        wo,
        op,
        workstation=workstation or original.workstation,
        operator=None,
        actor=actor,
        at=at,
        good=-g,
        scrap=-s,
        rework=-(rw - from_rework) if from_rework else -rw,
        reason=reason.strip(),
        detail={"corrects": original.kind},
        correction_of=original.id,
        confirmation_message_id=new_message_id(),
    )
    materials: list[MaterialLine] = []
    if original.kind == "material.consumed":
        m = detail
        materials.append(
            MaterialLine(
                m["product"], m.get("lot"), m.get("serial"), -float(m["quantity"]), m["unit"]
            )
        )
    scrap_reasons = {original.reason: -s} if s and original.reason else {}
    _confirm(
        session,
        wo,
        op,
        ev,
        correction_of=original.confirmation_message_id,
        scrap_reasons=scrap_reasons,
        materials=materials,
    )
    audit.record(
        session,
        actor,
        "event.correct",
        f"{wo.number}/{op.number}",
        {"event": event_id, "reason": reason},
        station=workstation,
    )
    return ev


def record_disposition(
    session: Session,
    work_order_id: int,
    operation: str,
    *,
    kind: str,
    disposition: dict[str, Any],
    actor: str,
    reason: str,
    scrap: int = 0,
    scrap_reason: str = "HOLD_SCRAP",
    rework: int = 0,
    at: datetime | None = None,
) -> ProductionEvent:
    """A hold released as scrap or rework: its production event and an operation confirmation
    (good 0, the scrap under `scrap_reason`, or the rework) carrying `disposition`, so that the
    ERP's books match. The operation's counters stay: these units were already reported."""
    wo = _work_order(session, work_order_id)
    op = next((o for o in _operations(session, wo) if o.number == operation), None)
    if op is None:
        raise Refusal(R.OPERATION_NOT_FOUND, f"{wo.number} has no operation {operation}")
    ev = _event(
        session,
        kind,
        wo,
        op,
        workstation=op.workstation,
        operator=None,
        actor=actor,
        at=at,
        scrap=scrap,
        rework=rework,
        reason=reason[:64],
        detail=disposition,
        confirmation_message_id=new_message_id(),
    )
    _confirm(
        session,
        wo,
        op,
        ev,
        scrap_reasons={scrap_reason: scrap} if scrap else {},
        disposition=disposition,
    )
    return ev


# --- work-order level: suspend, holds -----------------------------------------------------


def suspend_work_order(session: Session, work_order: str, *, actor: str, reason: str) -> None:
    wo = _work_order(session, work_order)
    _move_wo(session, wo, Suspend(reason))
    _event(
        session,
        "work_order.suspended",
        wo,
        None,
        workstation=None,
        operator=None,
        actor=actor,
        at=None,
        reason=reason,
    )
    audit.record(session, actor, "work_order.suspend", wo.number or "", {"reason": reason})


def resume_work_order(session: Session, work_order: str, *, actor: str) -> None:
    wo = _work_order(session, work_order)
    _move_wo(session, wo, Resume())
    _event(
        session,
        "work_order.resumed",
        wo,
        None,
        workstation=None,
        operator=None,
        actor=actor,
        at=None,
    )
    audit.record(session, actor, "work_order.resume", wo.number or "")


def abort_work_order(session: Session, work_order: str, *, actor: str, reason: str) -> None:
    """Stop a started work order for good (supervisor); its holds are dropped with it."""
    if not reason.strip():
        raise Refusal(R.REASON_REQUIRED, "aborting a work order needs a reason")
    wo = _work_order(session, work_order)
    _move_wo(session, wo, Abort(reason))
    for row in session.exec(select(WorkOrderHold).where(WorkOrderHold.work_order_id == wo.id)):
        session.delete(row)
    _event(
        session,
        "work_order.aborted",
        wo,
        None,
        workstation=None,
        operator=None,
        actor=actor,
        at=None,
        reason=reason[:64],
    )
    audit.record(session, actor, "work_order.abort", wo.number or "", {"reason": reason})


def hold_work_order(
    session: Session, wo_id: int | str, hold_id: str, reason: str = "", actor: str = "quality"
) -> None:
    """Add a hold to the order's set of active holds (idempotent per hold_id)."""
    wo = _work_order(session, wo_id)
    assert wo.id is not None
    if session.get(WorkOrderHold, (wo.id, hold_id)) is not None:
        return
    _move_wo(session, wo, PlaceHold(hold_id))
    session.add(WorkOrderHold(work_order_id=wo.id, hold_id=hold_id, reason=reason))
    _event(
        session,
        "work_order.held",
        wo,
        None,
        workstation=None,
        operator=None,
        actor=actor,
        at=None,
        reason=hold_id[:64],
        detail={"hold_id": hold_id, "reason": reason},
    )


def release_work_order_hold(
    session: Session, wo_id: int | str, hold_id: str, actor: str = "quality"
) -> bool:
    """Remove one hold; the order returns to its previous state when none is left.
    Returns False when that hold was not active on the order."""
    wo = _work_order(session, wo_id)
    assert wo.id is not None
    row = session.get(WorkOrderHold, (wo.id, hold_id))
    if row is None:
        return False
    _move_wo(session, wo, ReleaseHold(hold_id))
    session.delete(row)
    _event(
        session,
        "work_order.hold_released",
        wo,
        None,
        workstation=None,
        operator=None,
        actor=actor,
        at=None,
        reason=hold_id[:64],
        detail={"hold_id": hold_id},
    )
    return True
