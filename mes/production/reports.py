"""Reports on a running operation: good, scrap and rework quantities, and consumed material."""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from mes.core import audit
from mes.core.errors import Refusal, RefusalCode
from mes.orders.states import OperationState, Unblock
from mes.outbox.store import new_message_id
from mes.production import genealogy
from mes.production.confirm import confirm
from mes.production.confirmation import MaterialLine
from mes.production.holds import HoldPolicy
from mes.production.locking import work_order
from mes.production.models import ProductionEvent
from mes.production.moves import (
    move_operation,
    pick,
    record_event,
    refuse_if_held,
    refuse_unless_running,
)
from mes.production.quantities import OperationCounts, check_report
from mes.production.rules import Material, ProducedUnit


class Reports:
    holds: HoldPolicy

    def report(
        self,
        session: Session,
        number: str,
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
        wo = work_order(session, number)
        op, prev, nxt = pick(session, wo, operation, workstation)
        refuse_unless_running(session, self.holds, wo, op, workstation)
        if scrap and not (scrap_reason or "").strip():
            raise Refusal(RefusalCode.REASON_REQUIRED, "scrap needs a reason code")
        if rework and not (rework_reason or "").strip():
            raise Refusal(RefusalCode.REASON_REQUIRED, "rework needs a reason code")
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
            counts,
            tolerance_percent,
            good=good,
            scrap=scrap,
            rework=rework,
            from_rework=from_rework,
        )
        if produced and sum(u.quantity for u in produced) != good:
            raise Refusal(
                RefusalCode.INVALID_QUANTITY,
                f"produced units add up to {sum(u.quantity for u in produced)}, not {good}",
            )
        if produced:  # a held lot or serial takes no more units
            refuse_if_held(session, self.holds, wo, op, workstation, [u.code for u in produced])
        op.good += good
        op.scrap += scrap
        op.rework += rework - from_rework
        op.released += good
        session.add(op)
        if good and nxt is not None and nxt.status != OperationState.DONE:
            move_operation(wo, nxt, Unblock())
            session.add(nxt)
        reason = (scrap_reason or "").strip() if scrap else (rework_reason or "").strip() or None
        kind = "quantity.good" if good else ("quantity.scrap" if scrap else "quantity.rework")
        if good and not produced and nxt is None:
            produced = [ProducedUnit(f"{wo.product}-{(wo.number or '')[3:]}", "lot", good)]
        ev = record_event(
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
        made = genealogy.produce(
            session, wo, op, ev, [(u.code, u.kind, u.quantity) for u in produced]
        )
        confirm(
            session,
            self.holds,
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
        self,
        session: Session,
        number: str,
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
        return self.report(
            session,
            number,
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
        self,
        session: Session,
        number: str,
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
        return self.report(
            session,
            number,
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
        self,
        session: Session,
        number: str,
        operation: str | None,
        *,
        material: Material,
        workstation: str | None,
        operator: str | None,
        actor: str | None = None,
        at: datetime | None = None,
        crew: Sequence[str] = (),
    ) -> ProductionEvent:
        """Record a consumed lot or serial on a running operation, link it into the genealogy
        and confirm the goods issue to the ERP."""
        if not (material.lot or material.serial):
            raise Refusal(
                RefusalCode.INVALID_QUANTITY, "a material scan needs a lot (10) or serial (21)"
            )
        if material.quantity is not None and material.quantity <= 0:
            raise Refusal(
                RefusalCode.INVALID_QUANTITY,
                f"material count must be positive: {material.quantity}",
            )
        wo = work_order(session, number)
        op, _, _ = pick(session, wo, operation, workstation)
        codes = [c for c in (material.lot, material.serial) if c]
        refuse_unless_running(session, self.holds, wo, op, workstation, codes)
        product, unit = genealogy.resolve_product(session, op, material.product, material.gtin)
        unit = material.unit or unit
        quantity = material.quantity if material.quantity is not None else 1.0
        ev = record_event(
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
        confirm(session, self.holds, wo, op, ev, materials=[line], crew=crew)
        return ev
