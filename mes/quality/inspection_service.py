"""Inspection plans and results in the database; an out-of-spec result records a nonconformance
and holds the lot (or, without a lot, the operation)."""

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlmodel import Session, select

from mes.core import audit
from mes.orders.models import WorkOrder
from mes.quality.holds import Target, TargetKind, operation_key
from mes.quality.holds_service import TargetFinished, place_hold
from mes.quality.inspection import InspectionError, InspectionPlan, Outcome, evaluate
from mes.quality.models import InspectionPlanRecord, InspectionRecord, Nonconformance


class PlanNotFound(LookupError):
    pass


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


__all__ = ["InspectionError", "PlanNotFound", "record_inspection", "save_plan"]
