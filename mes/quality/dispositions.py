"""What a disposition does when a hold is released (in the caller's transaction):

- every disposition on a hold that belongs to a work order records a `quality.disposition`
  production event (who, which hold, which target), so genealogy and the ERP see it;
- `rework` adds a rework operation at the end of the work order (READY, at the workstation of
  the held operation or of the hold's workstation), which must be done before the order
  completes;
- `scrap` records a `quality.scrap` production event naming the lot or work order scrapped.

Scrap and rework of a quantity reach the ERP as an operation confirmation (good 0, the scrap
under `HOLD_SCRAP`, or the rework) on the operation that made the units, with a `disposition`
field naming the hold (an extension). The quantity is the one given at release, else what the
target holds: an operation's good units; a lot's units as reported; a work order's good units
at its furthest operation. Nothing to dispose of (0) sends nothing.
"""

import json

from sqlmodel import Session, col, select

from mes.orders.models import Operation, WorkOrder
from mes.production.models import Lot, ProductionEvent
from mes.production.service import Production
from mes.quality.holds import Disposition, TargetKind
from mes.quality.models import HoldRecord
from mes.quality.policy import QualityHolds

#: the production side of a disposition, with quality's own hold policy
_production = Production(QualityHolds())

REWORK_NUMBERS = range(9010, 10000, 10)


def _work_order_of(session: Session, row: HoldRecord) -> tuple[WorkOrder | None, str | None]:
    """The work order a hold belongs to, and the operation number when it names one."""
    kind = TargetKind(row.target_kind)
    number, op = None, None
    if kind is TargetKind.WORK_ORDER:
        number = row.target_id
    elif kind is TargetKind.OPERATION:
        number, _, op = row.target_id.partition("/")
    elif kind is TargetKind.LOT:
        lot = session.exec(select(Lot).where(Lot.code == row.target_id)).first()
        if lot is not None and lot.work_order_id is not None:
            return session.get(WorkOrder, lot.work_order_id), None
    if number is None:
        return None, None
    return session.exec(select(WorkOrder).where(WorkOrder.number == number)).first(), op


def _rework_operation(
    session: Session, wo: WorkOrder, op_number: str | None, row: HoldRecord
) -> Operation:
    ops = session.exec(
        select(Operation).where(Operation.work_order_id == wo.id).order_by(col(Operation.seq))
    ).all()
    used = {o.number for o in ops}
    number = next(f"{n:04d}" for n in REWORK_NUMBERS if f"{n:04d}" not in used)
    template = next((o for o in ops if o.number == op_number), ops[-1] if ops else None)
    assert wo.id is not None
    op = Operation(
        work_order_id=wo.id,
        seq=(max((o.seq for o in ops), default=0) + 1),
        number=number,
        name=f"Rework ({row.hold_id})",
        workstation=template.workstation if template else None,
        work_centre=template.work_centre if template else None,
        cycle_time_s=template.cycle_time_s if template else 1.0,
        status="READY",
    )
    session.add(op)
    session.flush()
    return op


def _lot_made(session: Session, wo: WorkOrder, code: str) -> tuple[int, str | None]:
    """Units of lot/serial `code` in the work order's reports (corrected ones left out), and
    the operation that made the last of them."""
    corrected = select(ProductionEvent.correction_of).where(
        ProductionEvent.work_order_id == wo.id, col(ProductionEvent.correction_of).is_not(None)
    )
    reports = session.exec(
        select(ProductionEvent.detail_json, Operation.number)
        .join(Operation, col(Operation.id) == ProductionEvent.operation_id)
        .where(
            ProductionEvent.work_order_id == wo.id,
            ProductionEvent.kind == "quantity.good",
            col(ProductionEvent.id).not_in(corrected),
        )
        .order_by(col(ProductionEvent.id))
    ).all()
    total, where = 0, None
    for detail, number in reports:
        for line in json.loads(detail).get("produced", []):
            if code in (line.get("lot"), line.get("serial")):
                total += int(line.get("quantity") or 0)
                where = number
    return total, where


def _disposed(
    session: Session, wo: WorkOrder, row: HoldRecord, op_number: str | None, given: int | None
) -> tuple[int, str | None]:
    """How many units the disposition covers, and on which operation."""
    ops = session.exec(
        select(Operation).where(Operation.work_order_id == wo.id).order_by(col(Operation.seq))
    ).all()
    if op_number is None and row.target_kind == TargetKind.LOT.value:
        made, op_number = _lot_made(session, wo, row.target_id)
        if given is None:
            given = made
    if op_number is None:
        furthest = [o for o in ops if o.good > 0 and o.number not in _REWORK]
        chosen = furthest[-1] if furthest else (ops[0] if ops else None)
        op_number = chosen.number if chosen else None
    held = next((o for o in ops if o.number == op_number), None)
    quantity = given if given is not None else (held.good if held else 0)
    return quantity, op_number


_REWORK = {f"{n:04d}" for n in REWORK_NUMBERS}


def apply_disposition(
    session: Session, row: HoldRecord, by: str, quantity: int | None = None
) -> None:
    if row.disposition is None:
        return
    disposition = Disposition(row.disposition)
    wo, op_number = _work_order_of(session, row)
    if wo is None or wo.id is None:
        return
    detail: dict[str, object] = {
        "hold_id": row.hold_id,
        "target": {"kind": row.target_kind, "id": row.target_id},
        "disposition": disposition.value,
    }
    if disposition is Disposition.REWORK:
        rework = _rework_operation(session, wo, op_number, row)
        detail["rework_operation"] = rework.number
    units, at_op = 0, None
    if disposition is not Disposition.USE_AS_IS:
        units, at_op = _disposed(session, wo, row, op_number, quantity)
    kinds = ["quality.disposition"]
    if disposition is Disposition.SCRAP:
        kinds.append("quality.scrap")
    carrier = kinds[-1]  # the event that carries the quantity and the ERP confirmation
    for kind in kinds:
        if kind == carrier and units > 0 and at_op is not None:
            _production.record_disposition(
                session,
                wo.id,
                at_op,
                kind=kind,
                disposition={**detail, "quantity": units},
                actor=by,
                reason=disposition.value,
                scrap=units if disposition is Disposition.SCRAP else 0,
                rework=units if disposition is Disposition.REWORK else 0,
            )
            continue
        session.add(
            ProductionEvent(
                kind=kind,
                work_order_id=wo.id,
                actor=by,
                reason=disposition.value,
                detail_json=json.dumps(detail, sort_keys=True),
            )
        )
