"""The quality side of production's hold check: which active holds stop reporting, and the
holds an ERP confirmation names. `QualityHolds` implements `mes.production.holds.HoldPolicy`."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, event, or_
from sqlmodel import Session, col, select

from mes.core.batch import Batch
from mes.core.clock import aware
from mes.orders.models import Operation, WorkOrder
from mes.production.models import Lot
from mes.quality.holds import (
    Disposition,
    Hold,
    HoldState,
    Target,
    TargetKind,
    blocking,
    operation_key,
)
from mes.quality.models import HoldRecord

_ANY_ACTIVE_HOLD = select(HoldRecord.id).where(HoldRecord.state == HoldState.ACTIVE.value).limit(1)


def to_domain(row: HoldRecord) -> Hold:
    return Hold(
        hold_id=row.hold_id,
        target=Target(TargetKind(row.target_kind), row.target_id),
        reason=row.reason,
        owner=row.owner,
        placed_by=row.placed_by,
        placed_at=aware(row.placed_at),
        state=HoldState(row.state),
        source=row.source,
        disposition=Disposition(row.disposition) if row.disposition else None,
        released_by=row.released_by,
        released_at=aware(row.released_at),
        comment=row.comment,
    )


def erp_holds(session: Session, wo: WorkOrder) -> list[dict[str, Any]]:
    """The active holds on a work order, its operations or the lots it made, oldest first, as
    the `holds` extension of an operation confirmation."""
    number = wo.number or ""
    made = select(Lot.code).where(Lot.work_order_id == wo.id)
    kind, target = col(HoldRecord.target_kind), col(HoldRecord.target_id)
    rows = session.exec(
        select(HoldRecord)
        .where(HoldRecord.state == HoldState.ACTIVE.value)
        .where(
            or_(
                and_(kind == TargetKind.WORK_ORDER.value, target == number),
                and_(
                    kind == TargetKind.OPERATION.value,
                    target.startswith(f"{number}/", autoescape=True),
                ),
                and_(kind == TargetKind.LOT.value, target.in_(made)),
            )
        )
        .order_by(col(HoldRecord.id))
    ).all()
    return [
        {
            "hold_id": r.hold_id,
            "reason": r.reason,
            "target": {"kind": r.target_kind, "id": r.target_id},
        }
        for r in rows
    ]


def active_holds_for(
    session: Session,
    work_order_id: int | None,
    operation_id: int | None,
    workstation: str | None,
    lots: Sequence[str] = (),
) -> list[Hold]:
    """The active holds that forbid reporting on this work order / operation / workstation /
    lots, oldest first. The scan path refuses when this is not empty and names
    `holds[0].describe()`, e.g. "oven temperature excursion (hold H-17)"."""
    number = op_number = None
    wo = session.get(WorkOrder, work_order_id) if work_order_id is not None else None
    if wo is not None and wo.number:
        number = wo.number
        op = session.get(Operation, operation_id) if operation_id is not None else None
        op_number = op.number if op is not None else None
    ids = {*lots, *(t for t in (number, workstation) if t)}
    if number and op_number:
        ids.add(operation_key(number, op_number))
    if not ids:
        return []
    rows = session.exec(
        select(HoldRecord)
        .where(HoldRecord.state == HoldState.ACTIVE.value)
        .where(col(HoldRecord.target_id).in_(ids))
        .order_by(col(HoldRecord.id))
    ).all()
    return blocking([to_domain(r) for r in rows], number, op_number, workstation, lots)


class QualityHolds:
    """Quality holds as production sees them (`mes.production.holds.HoldPolicy`)."""

    def blocking(
        self,
        session: Session,
        work_order_id: int | None,
        operation_id: int | None,
        workstation: str | None,
        lots: Sequence[str],
    ) -> list[tuple[str, str]]:
        found = active_holds_for(session, work_order_id, operation_id, workstation, lots)
        return [(h.hold_id, h.reason or "") for h in found]

    def erp_holds(self, session: Session, wo: WorkOrder) -> list[dict[str, Any]]:
        return erp_holds(session, wo)

    def gate(self, session: Session, batch: Batch) -> None:
        """One look per batch for any active quality hold; when there is none, the
        production service skips its per-report hold lookups until this session adds a hold
        (an inspection out of spec places one in the same batch). On SQLite the batch holds
        the write lock, so no hold can be committed meanwhile; on PostgreSQL a hold committed
        by another replica during the batch counts from the next batch, as if placed a few
        milliseconds later."""
        if session.exec(_ANY_ACTIVE_HOLD).first() is not None:
            return
        batch.holds_possible = False

        def added(_: Session, instance: object) -> None:
            if isinstance(instance, HoldRecord):
                batch.holds_possible = True

        event.listen(session, "transient_to_pending", added)
