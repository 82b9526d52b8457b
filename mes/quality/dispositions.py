"""What a disposition does when a hold is released (in the caller's transaction):

- every disposition on a hold that belongs to a work order records a `quality.disposition`
  production event (who, which hold, which target), so genealogy and the ERP see it;
- `rework` adds a rework operation at the end of the work order (READY, at the workstation of
  the held operation or of the hold's workstation), which must be done before the order
  completes;
- `scrap` records a `quality.scrap` production event naming the lot or work order scrapped.
"""

import json

from sqlmodel import Session, col, select

from mes.orders.models import Operation, WorkOrder
from mes.production.models import Lot, ProductionEvent
from mes.quality.holds import Disposition, TargetKind
from mes.quality.models import HoldRecord

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


def apply_disposition(session: Session, row: HoldRecord, by: str) -> None:
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
    kinds = ["quality.disposition"]
    if disposition is Disposition.SCRAP:
        kinds.append("quality.scrap")
    for kind in kinds:
        session.add(
            ProductionEvent(
                kind=kind,
                work_order_id=wo.id,
                actor=by,
                reason=disposition.value,
                detail_json=json.dumps(detail, sort_keys=True),
            )
        )
