"""Operation moves a station makes: select, start, pause, resume and complete a job."""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from mes.core import audit
from mes.core.clock import utcnow
from mes.core.errors import Refusal, RefusalCode
from mes.orders.states import (
    Complete,
    CompleteOperation,
    OperationState,
    PauseOperation,
    ResumeOperation,
    Start,
    StartOperation,
    WorkOrderState,
)
from mes.outbox.store import new_message_id
from mes.production.completion import OrderCompleted
from mes.production.confirm import confirm
from mes.production.holds import HoldPolicy
from mes.production.locking import work_order
from mes.production.models import ProductionEvent
from mes.production.moves import (
    move_operation,
    move_work_order,
    pick,
    record_event,
    refuse_if_held,
)
from mes.production.rules import JobStatus, job_status, refuse_unless_workable


class OperationMoves:
    holds: HoldPolicy
    completions: tuple[OrderCompleted, ...] = ()

    def select_job(
        self,
        session: Session,
        number: str,
        operation: str | None = None,
        *,
        workstation: str | None,
    ) -> JobStatus:
        """The job a station scanned (`WO:...` or `WO:.../0020`); refused when it may not
        work it."""
        wo = work_order(session, number)
        op, prev, _ = pick(session, wo, operation, workstation)
        refuse_if_held(session, self.holds, wo, op, workstation)
        refuse_unless_workable(wo)
        return job_status(wo, op, prev)

    def start_operation(
        self,
        session: Session,
        number: str,
        operation: str | None,
        *,
        workstation: str | None,
        operator: str | None,
        actor: str | None = None,
        at: datetime | None = None,
    ) -> JobStatus:
        """Start (or join: several operators and stations may work one operation)."""
        wo = work_order(session, number)
        op, prev, _ = pick(session, wo, operation, workstation)
        refuse_if_held(session, self.holds, wo, op, workstation)
        refuse_unless_workable(wo)
        if op.status == OperationState.BLOCKED:
            assert prev is not None
            raise Refusal(
                RefusalCode.OUT_OF_SEQUENCE,
                f"{wo.number}/{op.number} cannot start: {prev.number} has released nothing yet",
            )
        if op.status == OperationState.PAUSED:
            raise Refusal(
                RefusalCode.ILLEGAL_STATE, f"{wo.number}/{op.number} is paused: resume it"
            )
        if op.status == OperationState.DONE:
            raise Refusal(RefusalCode.ILLEGAL_STATE, f"{wo.number}/{op.number} is already done")
        move_operation(wo, op, StartOperation())
        now = at or utcnow()
        if op.started_at is None:
            op.started_at = now
        if wo.status == WorkOrderState.RELEASED:
            move_work_order(session, wo, Start())
            wo.started_at = now
        session.add(op)
        record_event(
            session,
            "operation.started",
            wo,
            op,
            workstation=workstation,
            operator=operator,
            actor=actor,
            at=now,
        )
        return job_status(wo, op, prev)

    def pause_operation(
        self,
        session: Session,
        number: str,
        operation: str | None,
        *,
        workstation: str | None,
        operator: str | None,
        reason: str,
        actor: str | None = None,
        at: datetime | None = None,
    ) -> JobStatus:
        if not reason.strip():
            raise Refusal(RefusalCode.REASON_REQUIRED, "a pause needs a reason code")
        wo = work_order(session, number)
        op, prev, _ = pick(session, wo, operation, workstation)
        move_operation(wo, op, PauseOperation(reason))
        op.pause_reason = reason.strip()
        session.add(op)
        record_event(
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
        return job_status(wo, op, prev)

    def resume_operation(
        self,
        session: Session,
        number: str,
        operation: str | None,
        *,
        workstation: str | None,
        operator: str | None,
        reason: str | None = None,
        actor: str | None = None,
        at: datetime | None = None,
    ) -> JobStatus:
        wo = work_order(session, number)
        op, prev, _ = pick(session, wo, operation, workstation)
        refuse_if_held(session, self.holds, wo, op, workstation)
        refuse_unless_workable(wo)
        move_operation(wo, op, ResumeOperation())
        op.pause_reason = None
        session.add(op)
        record_event(
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
        return job_status(wo, op, prev)

    def complete_operation(
        self,
        session: Session,
        number: str,
        operation: str | None,
        *,
        workstation: str | None,
        operator: str | None,
        actor: str | None = None,
        at: datetime | None = None,
        crew: Sequence[str] = (),
    ) -> ProductionEvent:
        """Close an operation (short quantities stay on this work order: no backorder).
        Completing the last operation completes the work order and sends the final
        confirmation."""
        wo = work_order(session, number)
        op, prev, nxt = pick(session, wo, operation, workstation)
        refuse_if_held(session, self.holds, wo, op, workstation)
        refuse_unless_workable(wo)
        if prev is not None and prev.status != OperationState.DONE:
            raise Refusal(
                RefusalCode.OUT_OF_SEQUENCE,
                f"{wo.number}/{op.number} cannot complete before {prev.number} is done",
            )
        if op.status not in (OperationState.RUNNING, OperationState.PAUSED):
            raise Refusal(
                RefusalCode.OPERATION_NOT_RUNNING, f"{wo.number}/{op.number} is {op.status}"
            )
        move_operation(wo, op, CompleteOperation())
        ev = record_event(
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
            move_work_order(session, wo, Complete())
            wo.completed_at = ev.at
        message_id = confirm(session, self.holds, wo, op, ev, final=final, crew=crew)
        if final:
            wo.final_message_id = message_id
            session.add(wo)
            for hook in self.completions:
                hook.completed(session, wo, utcnow())
        audit.record(
            session,
            ev.actor,
            "operation.complete",
            f"{wo.number}/{op.number}",
            station=workstation,
        )
        return ev
