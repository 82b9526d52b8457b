"""Holds in the database: place, release with disposition, and the check the scan path calls.

Every change is written with its audit entry and its `_mes/holds` notification in the caller's
transaction. A hold on a work order also enters the work order's own hold set (it is HELD until
the set is empty), through the work-order state machine.
"""

import contextlib
import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from mes import audit
from mes.alarms.models import Notification
from mes.orders.models import Operation, WorkOrder
from mes.production import service as production
from mes.production.models import Lot
from mes.production.refusals import Refusal
from mes.quality.dispositions import apply_disposition
from mes.quality.holds import (
    Disposition,
    Hold,
    HoldState,
    Release,
    Target,
    TargetKind,
    operation_key,
    release,
)
from mes.quality.models import HoldRecord


class HoldNotFound(LookupError):
    pass


def _aware(dt: datetime | None) -> datetime | None:
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt


def to_domain(row: HoldRecord) -> Hold:
    return Hold(
        hold_id=row.hold_id,
        target=Target(TargetKind(row.target_kind), row.target_id),
        reason=row.reason,
        owner=row.owner,
        placed_by=row.placed_by,
        placed_at=_aware(row.placed_at) or row.placed_at,
        state=HoldState(row.state),
        source=row.source,
        disposition=Disposition(row.disposition) if row.disposition else None,
        released_by=row.released_by,
        released_at=_aware(row.released_at),
        comment=row.comment,
    )


def hold_event(row: HoldRecord, action: str, by: str, at: datetime) -> dict[str, Any]:
    """The `_mes/holds` payload (CONTRACTS.md section 7)."""
    return {
        "v": 1,
        "event_id": uuid.uuid4().hex,
        "hold_id": row.hold_id,
        "action": action,
        "target": {"kind": row.target_kind, "id": row.target_id},
        "reason": row.reason,
        "disposition": row.disposition,
        "by": by,
        "at": at.isoformat(),
        "owner": row.owner,
        "source": row.source,
    }


def _notify(session: Session, payload: dict[str, Any]) -> None:
    session.add(Notification(topic="holds", payload=json.dumps(payload, default=str)))


def _enter_work_order_hold(session: Session, row: HoldRecord) -> None:
    """The work order's own hold set (HELD while not empty), via the production service."""
    # unknown, or PLANNED/COMPLETED: the hold record alone blocks reporting
    with contextlib.suppress(Refusal):
        production.hold_work_order(session, row.target_id, row.hold_id, row.reason, row.placed_by)


def _leave_work_order_hold(session: Session, row: HoldRecord, by: str) -> None:
    with contextlib.suppress(Refusal):
        production.release_work_order_hold(session, row.target_id, row.hold_id, by)


def place_hold(
    session: Session,
    target: Target,
    reason: str,
    owner: str,
    by: str,
    source: str | None = None,
    at: datetime | None = None,
) -> HoldRecord:
    """Place one hold (they stack: a target may carry several). Not committed."""
    if not reason.strip():
        raise ValueError("a hold needs a reason")
    at = at or datetime.now(UTC)
    row = HoldRecord(
        hold_id=f"H-tmp-{uuid.uuid4().hex[:12]}",
        target_kind=target.kind.value,
        target_id=target.id,
        reason=reason,
        owner=owner,
        placed_by=by,
        placed_at=at,
        source=source,
    )
    session.add(row)
    session.flush()
    row.hold_id = f"H-{row.id}"
    session.add(row)
    if target.kind is TargetKind.WORK_ORDER:
        _enter_work_order_hold(session, row)
    audit.record(session, by, "hold.place", row.hold_id, {"target": target.id, "reason": reason})
    _notify(session, hold_event(row, "placed", by, at))
    return row


def release_hold(
    session: Session,
    hold_id: str,
    by: str,
    roles: Iterable[str],
    disposition: Disposition,
    comment: str = "",
    at: datetime | None = None,
    quantity: int | None = None,
) -> HoldRecord:
    """Release with a disposition (quality role only); NotPermitted / IllegalTransition.
    `quantity`: units scrapped or sent to rework (default: what the target holds, see
    `mes.quality.dispositions`), confirmed to the ERP."""
    row = session.exec(select(HoldRecord).where(HoldRecord.hold_id == hold_id)).first()
    if row is None:
        raise HoldNotFound(f"no hold {hold_id!r}")
    at = at or datetime.now(UTC)
    done = release(to_domain(row), Release(by, frozenset(roles), at, disposition, comment))
    row.state = done.state.value
    row.disposition = disposition.value
    row.released_by = by
    row.released_at = at
    row.comment = comment or None
    session.add(row)
    if row.target_kind == TargetKind.WORK_ORDER.value:
        _leave_work_order_hold(session, row, by)
    apply_disposition(session, row, by, quantity)
    audit.record(
        session,
        by,
        "hold.release",
        row.hold_id,
        {"disposition": disposition.value, "comment": comment},
    )
    _notify(session, hold_event(row, "released", by, at))
    return row


def active_holds(session: Session, targets: Iterable[Target]) -> list[Hold]:
    wanted = list(targets)
    if not wanted:
        return []
    ids = {t.id for t in wanted}
    rows = session.exec(
        select(HoldRecord)
        .where(HoldRecord.state == HoldState.ACTIVE.value)
        .where(col(HoldRecord.target_id).in_(ids))
        .order_by(col(HoldRecord.id))
    ).all()
    keys = {(t.kind.value, t.id) for t in wanted}
    return [to_domain(r) for r in rows if (r.target_kind, r.target_id) in keys]


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
    targets: list[Target] = []
    wo = session.get(WorkOrder, work_order_id) if work_order_id is not None else None
    if wo is not None and wo.number:
        targets.append(Target(TargetKind.WORK_ORDER, wo.number))
        op = session.get(Operation, operation_id) if operation_id is not None else None
        if op is not None:
            targets.append(Target(TargetKind.OPERATION, operation_key(wo.number, op.number)))
    if workstation:
        targets.append(Target(TargetKind.WORKSTATION, workstation))
    targets += [Target(TargetKind.LOT, lot) for lot in lots]
    return active_holds(session, targets)
