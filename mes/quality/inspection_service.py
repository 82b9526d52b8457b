"""Inspection plans and results in the database; an out-of-spec result records a nonconformance
and holds the lot (or, without a lot, the operation)."""

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from mes.core import audit
from mes.orders.models import WorkOrder
from mes.production.genealogy import find_lots
from mes.production.models import Consumption
from mes.quality.holds import Target, TargetKind, operation_key
from mes.quality.holds_service import TargetFinished, place_hold
from mes.quality.inspection import InspectionError, InspectionPlan, Outcome, evaluate
from mes.quality.models import InspectionPlanRecord, InspectionRecord, Nonconformance


class PlanNotFound(LookupError):
    pass


class InspectionRefused(Exception):
    """Who may inspect what: the status, code and message of the refusal."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def check_scope(
    session: Session,
    station: str | None,
    selected: tuple[str | None, str | None],
    work_order: str,
    operation: str,
    lot: str | None,
) -> None:
    """A lot must exist; a station token inspects only its `selected` job (work order,
    operation), and only the lots that job made or consumed (a station must not hold what other
    stations work on)."""
    if station is not None and selected != (work_order, operation):
        job = f"{selected[0]} / {selected[1]}" if selected[0] else "no job"
        raise InspectionRefused(
            403,
            "NOT_THIS_STATIONS_JOB",
            f"{station} has {job} selected, not {work_order} / {operation}",
        )
    if lot is None:
        return
    lots = find_lots(session, lot)
    if not lots:
        raise InspectionRefused(404, "UNKNOWN_LOT", f"no lot or serial {lot!r} is known")
    if station is None:
        return
    wo = session.exec(select(WorkOrder).where(WorkOrder.number == work_order)).first()
    wo_id = wo.id if wo else None
    consumed = set(
        session.exec(
            select(Consumption.lot_id).where(
                Consumption.work_order_id == wo_id,
                col(Consumption.lot_id).in_([x.id for x in lots]),
            )
        ).all()
    )
    if not any(x.work_order_id == wo_id or x.id in consumed for x in lots):
        raise InspectionRefused(
            403, "LOT_NOT_IN_JOB", f"lot {lot!r} was neither made nor consumed by {work_order}"
        )


def save_plan(session: Session, plan: InspectionPlan, by: str) -> None:
    row = session.get(InspectionPlanRecord, (plan.routing, plan.operation))
    if row is None:
        row = InspectionPlanRecord(
            routing=plan.routing, operation=plan.operation, plan_json="", updated_by=by
        )
    row.plan_json = plan.model_dump_json()
    row.updated_by = by
    row.updated_at = datetime.now(UTC)
    session.add(row)
    audit.record(session, by, "inspection.plan", f"{plan.routing}/{plan.operation}")


def plan_for(session: Session, work_order: str, operation: str) -> InspectionPlan:
    wo = session.exec(select(WorkOrder).where(WorkOrder.number == work_order)).first()
    if wo is None:
        raise PlanNotFound(f"no work order {work_order!r}")
    row = session.get(InspectionPlanRecord, (wo.routing_id, operation))
    if row is None:
        raise PlanNotFound(f"no inspection plan for {wo.routing_id}/{operation}")
    return InspectionPlan.model_validate_json(row.plan_json)


def record_inspection(
    session: Session,
    work_order: str,
    operation: str,
    lot: str | None,
    results: Mapping[str, float | bool],
    by: str,
) -> tuple[InspectionRecord, Outcome, Nonconformance | None]:
    """Judge and store; a failure adds a nonconformance and a hold. Not committed."""
    plan = plan_for(session, work_order, operation)
    outcome = evaluate(plan, results)
    rec = InspectionRecord(
        work_order=work_order,
        operation=operation,
        lot=lot,
        results_json=json.dumps([_finding(f) for f in outcome.findings]),
        passed=outcome.passed,
        summary=outcome.summary(),
        by=by,
    )
    session.add(rec)
    session.flush()
    if outcome.passed:
        return rec, outcome, None
    nc = Nonconformance(
        number="NC-tmp",
        work_order=work_order,
        operation=operation,
        lot=lot,
        description=outcome.summary(),
        inspection_id=rec.id,
        reported_by=by,
    )
    session.add(nc)
    session.flush()
    nc.number = f"NC-{nc.id}"
    target = (
        Target(TargetKind.LOT, lot)
        if lot
        else Target(TargetKind.OPERATION, operation_key(work_order, operation))
    )
    try:
        hold = place_hold(
            session,
            target,
            f"out of spec: {outcome.summary()} ({nc.number})",
            "quality",
            by,
            source=f"nc:{nc.number}",
        )
    except TargetFinished:  # the order is finished: the nonconformance stands, without a hold
        hold = None
    nc.hold_id = hold.hold_id if hold else None
    session.add(nc)
    return rec, outcome, nc


def _finding(f: object) -> dict[str, object]:
    return {k: getattr(f, k) for k in ("name", "value", "ok", "lower", "upper", "unit")}


__all__ = [
    "InspectionError",
    "InspectionRefused",
    "PlanNotFound",
    "check_scope",
    "record_inspection",
    "save_plan",
]
