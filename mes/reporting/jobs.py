"""Adapter from station actions to the production service (`mes.production.service`).

The station handler speaks in stations, badges and selected jobs; the production service in
work orders and operations. This module is the only place that translates between them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import Session, col, select

from mes.auth.roles import Principal
from mes.core import audit
from mes.core.errors import Refusal, RefusalCode
from mes.orders.models import Operation, WorkOrder
from mes.production.models import ProductionEvent
from mes.production.rules import CORRECTABLE, Material
from mes.production.service import Production
from mes.quality.inspection_service import InspectionError, PlanNotFound, record_inspection
from mes.reporting.batch import ScanBatch, scan_batch
from mes.reporting.grammar import InspectionScan, MaterialScan

#: CMD:UNDO reverses the station's own last report, only this soon after it.
UNDO_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class SelectedJob:
    """The job selected at a station."""

    work_order: str
    operation: str


@dataclass(frozen=True)
class Context:
    station: str
    #: badges logged in at the station, earliest first
    operators: list[str]
    actor: Principal
    tolerance_percent: float
    at: datetime

    @property
    def operator(self) -> str | None:
        return self.operators[0] if self.operators else None

    @property
    def crew(self) -> dict[str, Any]:
        """`who`, with every operator logged in (for actions that confirm to the ERP)."""
        return {**self.who, "crew": tuple(self.operators)}

    @property
    def who(self) -> dict[str, Any]:
        return {
            "workstation": self.station,
            "operator": self.operator,
            "actor": self.actor.label[:64],
            "at": self.at,
        }


class JobActions:
    """Station actions on the selected job, through the production service it is given."""

    def __init__(self, production: Production) -> None:
        self.production = production

    def prefetch(self, session: Session, work_orders: list[str]) -> None:
        """The batch's selected jobs, loaded and locked in one go."""
        self.production.prefetch(session, work_orders)

    def select_job(
        self, session: Session, ctx: Context, work_order: str, operation: str | None
    ) -> tuple[str, str]:
        job = self.production.select_job(session, work_order, operation, workstation=ctx.station)
        return job.work_order, job.operation

    def start(self, session: Session, ctx: Context, job: SelectedJob) -> str:
        self.production.start_operation(session, job.work_order, job.operation, **ctx.who)
        return f"Started {job.work_order} / {job.operation}"

    def pause(self, session: Session, ctx: Context, job: SelectedJob, reason: str | None) -> str:
        if not reason:
            raise Refusal(RefusalCode.REASON_REQUIRED, "Scan a reason (RSN:<code>) before pausing")
        self.production.pause_operation(
            session, job.work_order, job.operation, reason=reason, **ctx.who
        )
        return f"Paused {job.work_order} / {job.operation}: {reason}"

    def resume(self, session: Session, ctx: Context, job: SelectedJob) -> str:
        self.production.resume_operation(session, job.work_order, job.operation, **ctx.who)
        return f"Resumed {job.work_order} / {job.operation}"

    def complete(self, session: Session, ctx: Context, job: SelectedJob) -> str:
        self.production.complete_operation(session, job.work_order, job.operation, **ctx.crew)
        return f"Completed {job.work_order} / {job.operation}"

    def report_good(self, session: Session, ctx: Context, job: SelectedJob, quantity: int) -> str:
        self.production.report_good(
            session,
            job.work_order,
            job.operation,
            quantity=quantity,
            tolerance_percent=ctx.tolerance_percent,
            **ctx.crew,
        )
        return f"{quantity} good on {job.work_order} / {job.operation}"

    def report_scrap(
        self, session: Session, ctx: Context, job: SelectedJob, quantity: int, reason: str
    ) -> str:
        self.production.report_scrap(
            session,
            job.work_order,
            job.operation,
            quantity=quantity,
            reason=reason,
            tolerance_percent=ctx.tolerance_percent,
            **ctx.crew,
        )
        return f"{quantity} scrapped ({reason}) on {job.work_order} / {job.operation}"

    def consume(
        self, session: Session, ctx: Context, job: SelectedJob, material: MaterialScan
    ) -> str:
        self.production.consume_material(
            session,
            job.work_order,
            job.operation,
            material=Material(
                gtin=material.gtin,
                lot=material.lot,
                serial=material.serial,
                quantity=float(material.count) if material.count is not None else None,
                expiry=material.expiry.isoformat() if material.expiry else None,
                product=material.product,
            ),
            **ctx.crew,
        )
        what = material.lot or material.serial or material.gtin
        return f"Material {what} consumed on {job.work_order} / {job.operation}"

    def inspect(
        self, session: Session, ctx: Context, job: SelectedJob, result: InspectionScan
    ) -> str:
        """Record one inspection result on the job, by the operator logged in first; out of spec,
        the quality service adds the nonconformance and the hold, and the answer names them."""
        try:
            _, outcome, nc = record_inspection(
                session,
                job.work_order,
                job.operation,
                None,
                {result.characteristic: result.value},
                audit.actor("operator", ctx.operator) if ctx.operator else ctx.actor.label,
            )
        except PlanNotFound as exc:
            raise Refusal(
                RefusalCode.NO_INSPECTION_PLAN, f"Cannot record {result.characteristic}: {exc}"
            ) from None
        except InspectionError as exc:
            raise Refusal(RefusalCode.INVALID_RESULTS, str(exc)) from None
        where = f"{job.work_order} / {job.operation}"
        if nc is None:
            return f"{outcome.findings[0].describe()} recorded on {where}"
        return f"{outcome.summary()} on {where}: {nc.number}, hold {nc.hold_id} placed"

    def undo(self, session: Session, ctx: Context, job: SelectedJob) -> str:
        """Reverse this station's last report on the job with a compensating event."""
        wo = session.exec(select(WorkOrder).where(WorkOrder.number == job.work_order)).first()
        last = None
        if wo is not None:
            last = session.exec(
                select(ProductionEvent)
                .where(
                    ProductionEvent.work_order_id == wo.id,
                    ProductionEvent.workstation == ctx.station,
                    col(ProductionEvent.kind).in_(CORRECTABLE),
                )
                .order_by(col(ProductionEvent.id).desc())
                .limit(1)
            ).first()
        if last is None:
            raise Refusal(RefusalCode.CORRECTION_NOT_POSSIBLE, f"Nothing to undo at {ctx.station}")
        at = last.at if last.at.tzinfo else last.at.replace(tzinfo=ctx.at.tzinfo)
        if ctx.at - at > UNDO_WINDOW:
            raise Refusal(
                RefusalCode.CORRECTION_NOT_POSSIBLE,
                f"The last report is older than {int(UNDO_WINDOW.total_seconds() // 60)} min: "
                "ask a supervisor for a correction",
            )
        assert last.id is not None
        self.production.correct_event(
            session,
            last.id,
            actor=ctx.actor.label[:64],
            reason=f"CMD:UNDO by {ctx.operator}",
            workstation=ctx.station,
            at=ctx.at,
        )
        return f"Undid {last.kind} (event {last.id}) on {job.work_order} / {job.operation}"


def track_jobs(session: Session, batch: ScanBatch) -> None:
    """Keep the work orders and operations this session loads, by number, for `summary`:
    the action just loaded (and locked) the job, so the answer needs no query of its own."""
    loaded = batch.loaded

    def remember(_: Session, instance: object) -> None:
        if isinstance(instance, WorkOrder):
            loaded[("wo", instance.number)] = instance
        elif isinstance(instance, Operation):
            loaded[("op", instance.work_order_id, instance.number)] = instance

    event.listen(session, "loaded_as_persistent", remember)


def _loaded_job(session: Session, job: SelectedJob) -> tuple[WorkOrder, Operation] | None:
    batch = scan_batch(session)
    if batch is None:
        return None
    wo = batch.loaded.get(("wo", job.work_order))
    if not isinstance(wo, WorkOrder):
        return None
    op = batch.loaded.get(("op", wo.id, job.operation))
    return (wo, op) if isinstance(op, Operation) else None


def summary(session: Session, job: SelectedJob) -> dict[str, Any] | None:
    """Progress of the selected job for the station display (read only, no locks). The same
    rows as the session's identity map holds: taken from there when this batch loaded them."""
    row = _loaded_job(session, job)
    if row is None:
        row = session.exec(
            select(WorkOrder, Operation)
            .join(Operation, col(Operation.work_order_id) == WorkOrder.id)
            .where(WorkOrder.number == job.work_order, Operation.number == job.operation)
        ).first()
    if row is None:
        return None
    wo, op = row
    return {
        "work_order_status": wo.status,
        "status": op.status,
        "name": op.name,
        "product": wo.product,
        "quantity": wo.quantity,
        "good": op.good,
        "scrap": op.scrap,
        "rework": op.rework,
        "pause_reason": op.pause_reason,
    }
