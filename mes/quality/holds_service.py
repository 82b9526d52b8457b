"""Holds in the database: place, release with disposition, and the check the scan path calls.

Every change is written with its audit entry and its `_mes/holds` notification in the caller's
transaction. A hold on a work order also enters the work order's own hold set (it is HELD until
the set is empty), through the work-order state machine.
"""

import contextlib
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from mes.core import audit
from mes.core.errors import Refusal
from mes.core.notifications import Notification
from mes.orders.models import WorkOrder
from mes.orders.states import FINISHED
from mes.production import work_orders
from mes.quality.dispositions import apply_disposition
from mes.quality.holds import (
    Disposition,
    HoldState,
    Release,
    Target,
    TargetKind,
    release,
)
from mes.quality.models import HoldRecord
from mes.quality.policy import active_holds_for, to_domain

__all__ = ["active_holds_for"]


class HoldNotFound(LookupError):
    pass


class TargetFinished(ValueError):
    """A hold on a work order (or one of its operations) on which nothing more is made."""


def _finished_order(session: Session, target: Target) -> WorkOrder | None:
    if target.kind is TargetKind.WORK_ORDER:
        number = target.id
    elif target.kind is TargetKind.OPERATION:
        number = target.id.split("/", 1)[0]
    else:
        return None
    wo = session.exec(select(WorkOrder).where(WorkOrder.number == number)).first()
    return wo if wo is not None and wo.status in FINISHED else None


def hold_event(row: HoldRecord, action: str, by: str, at: datetime) -> dict[str, Any]:
    """The `_mes/holds` payload (docs/contracts.md section 7)."""
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
        work_orders.hold_work_order(session, row.target_id, row.hold_id, row.reason, row.placed_by)


def _leave_work_order_hold(session: Session, row: HoldRecord, by: str) -> None:
    with contextlib.suppress(Refusal):
        work_orders.release_work_order_hold(session, row.target_id, row.hold_id, by)


def place_hold(
    session: Session,
    target: Target,
    reason: str,
    owner: str,
    by: str,
    source: str | None = None,
    at: datetime | None = None,
) -> HoldRecord:
    """Place one hold (they stack: a target may carry several). Not committed. A finished
    work order (or its operation) cannot be held: TargetFinished."""
    if not reason.strip():
        raise ValueError("a hold needs a reason")
    finished = _finished_order(session, target)
    if finished is not None:
        raise TargetFinished(
            f"{finished.number} is {finished.status}: nothing more is made on it, so it cannot "
            "be held (hold its lots instead)"
        )
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


def release_holds_of(
    session: Session,
    source: str,
    by: str,
    roles: Iterable[str],
    disposition: Disposition,
    comment: str = "",
    at: datetime | None = None,
) -> list[HoldRecord]:
    """Release every active hold of one cause (`source`: an alarm excursion, a
    nonconformance) with one disposition, each with its audit entry and `_mes/holds` event.
    Not committed; HoldNotFound when the cause holds nothing."""
    rows = session.exec(
        select(HoldRecord)
        .where(HoldRecord.source == source)
        .where(HoldRecord.state == HoldState.ACTIVE.value)
        .order_by(col(HoldRecord.id))
    ).all()
    if not rows:
        raise HoldNotFound(f"no active hold from {source!r}")
    at = at or datetime.now(UTC)
    return [release_hold(session, row.hold_id, by, roles, disposition, comment, at) for row in rows]
