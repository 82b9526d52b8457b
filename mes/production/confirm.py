"""Operation confirmations into the outbox, in the caller's transaction."""

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from mes.core import journal
from mes.core.batch import batch_of
from mes.orders.models import Operation, WorkOrder
from mes.outbox.store import enqueue, new_message_id
from mes.production.confirmation import Confirmation, MaterialLine
from mes.production.holds import HoldPolicy
from mes.production.models import ProductionEvent


def confirm(
    session: Session,
    holds: HoldPolicy,
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
    batch = batch_of(session)
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
            tuple(holds.erp_holds(session, wo)) if batch is None or batch.holds_possible else ()
        ),
        disposition=disposition,
    )
    enqueue(
        session,
        "confirmation",
        # extension: the production event confirmed (a correction names it); its id is
        # known when the row is written
        journal.Deferred(lambda: {**conf.as_json(), "production_event": ev.id}),
        message_id=message_id,
        erp_id=wo.erp_id,
        work_order_id=wo.id,
        final=final,
    )
    op.last_confirmed_at = ev.at
    session.add(op)
    return message_id
