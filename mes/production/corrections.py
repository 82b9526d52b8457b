"""Corrections of reports (compensating events, history is never edited) and the production
side of a hold's disposition."""

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from mes.core import audit
from mes.core.errors import Refusal, RefusalCode
from mes.orders.states import Block, OperationState, WorkOrderState
from mes.outbox.store import new_message_id
from mes.production.confirm import confirm
from mes.production.confirmation import MaterialLine
from mes.production.holds import HoldPolicy
from mes.production.locking import operations, work_order
from mes.production.models import ProductionEvent
from mes.production.moves import move_operation, record_event
from mes.production.rules import CORRECTABLE


class Corrections:
    holds: HoldPolicy

    def correct_event(
        self,
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
            raise Refusal(RefusalCode.REASON_REQUIRED, "a correction needs a reason")
        original = session.get(ProductionEvent, event_id)
        if original is None:
            raise Refusal(
                RefusalCode.EVENT_NOT_FOUND, f"production event {event_id} does not exist"
            )
        wo = work_order(session, original.work_order_id)
        if original.kind not in CORRECTABLE or original.operation_id is None:
            raise Refusal(
                RefusalCode.CORRECTION_NOT_POSSIBLE,
                f"a {original.kind} event cannot be corrected",
            )
        done = session.exec(
            select(ProductionEvent.id).where(ProductionEvent.correction_of == event_id)
        ).first()
        if done is not None:
            raise Refusal(
                RefusalCode.CORRECTION_NOT_POSSIBLE,
                f"event {event_id} was already corrected by {done}",
            )
        if wo.status in (WorkOrderState.CLOSED, WorkOrderState.CANCELLED, WorkOrderState.ABORTED):
            raise Refusal(RefusalCode.CORRECTION_NOT_POSSIBLE, f"{wo.number} is {wo.status}")
        ops = operations(session, wo)
        op = next(o for o in ops if o.id == original.operation_id)
        i = ops.index(op)
        nxt = ops[i + 1] if i + 1 < len(ops) else None
        detail = json.loads(original.detail_json)
        from_rework = int(detail.get("from_rework") or 0)
        g, s, rw = original.good, original.scrap, original.rework
        if nxt is not None and nxt.good + nxt.scrap + nxt.rework > op.released - g:
            raise Refusal(
                RefusalCode.CORRECTION_NOT_POSSIBLE,
                f"{wo.number}/{nxt.number} already processed {nxt.processed} of the "
                f"{op.released} released: correct it there first",
            )
        op.good -= g
        op.scrap -= s
        op.rework -= rw - from_rework
        op.released -= g
        session.add(op)
        if nxt is not None and op.released == 0 and nxt.status == OperationState.READY:
            move_operation(wo, nxt, Block())
            session.add(nxt)
        ev = record_event(
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
        confirm(
            session,
            self.holds,
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
        self,
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
        """A hold released as scrap or rework: its production event and an operation
        confirmation (good 0, the scrap under `scrap_reason`, or the rework) carrying
        `disposition`, so that the ERP's books match. The operation's counters stay: these
        units were already reported."""
        wo = work_order(session, work_order_id)
        op = next((o for o in operations(session, wo) if o.number == operation), None)
        if op is None:
            raise Refusal(
                RefusalCode.OPERATION_NOT_FOUND, f"{wo.number} has no operation {operation}"
            )
        ev = record_event(
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
        confirm(
            session,
            self.holds,
            wo,
            op,
            ev,
            scrap_reasons={scrap_reason: scrap} if scrap else {},
            disposition=disposition,
        )
        return ev


def operation_events(
    session: Session, number: str, operation: str
) -> list[tuple[ProductionEvent, int | None]]:
    """The production events of one operation, oldest first, each with the id of the
    correction that compensated it (None if none): what a supervisor picks a correction from."""
    wo = work_order(session, number)
    op = next((o for o in operations(session, wo) if o.number == operation), None)
    if op is None:
        raise Refusal(RefusalCode.OPERATION_NOT_FOUND, f"{wo.number} has no operation {operation}")
    events = session.exec(
        select(ProductionEvent)
        .where(ProductionEvent.operation_id == op.id)
        .order_by(col(ProductionEvent.id))
    ).all()
    corrected = {e.correction_of: e.id for e in events if e.correction_of is not None}
    return [(e, corrected.get(e.id or 0)) for e in events]
