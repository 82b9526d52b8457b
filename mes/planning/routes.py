"""`/api/v1/schedule`: the current plan, its diff, the history, the predicted finish of each
work order (READ); replan, lock and unlock an operation's slot, approve a plan (supervisors:
`work_order.admin`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel import Session, col, select

from config.plant import PlantConfig
from mes.api.deps import ServicesDep, SessionDep, require
from mes.api.problems import Problem, refusals
from mes.api.types import RowId, Text
from mes.auth.roles import Permission, Principal
from mes.core import audit
from mes.core.clock import aware, utcnow
from mes.orders.states import OperationState
from mes.planning import eligible, store
from mes.planning.gantt import ErrorOut, Gantt, NoticeOut, SlotOut, gantt
from mes.planning.models import PlanRecord, PlanSlot, SlotLockRecord
from mes.scheduling import OrderOutcome

router = APIRouter(prefix="/api/v1/schedule", tags=["schedule"])
_READ = refusals("UNAUTHENTICATED", "FORBIDDEN")
_READ_PLAN = refusals("UNAUTHENTICATED", "FORBIDDEN", "NO_PLAN")
Reader = Annotated[Principal, require(Permission.READ)]


class OutcomeOut(BaseModel):
    work_order: str
    predicted_finish: datetime
    due_at: datetime
    late: bool
    tardiness_s: float


class PlanSummary(BaseModel):
    id: int
    created_at: datetime
    planned_from: datetime
    trigger: str
    method: str = Field(description='"cp-sat", "rule:<NAME>", "previous" or "none"')
    fallback: bool = Field(description="the solver found nothing in time: a rule's plan")
    note: str
    weighted_tardiness_s: float
    on_time_rate: float
    approved_by: str | None
    approved_at: datetime | None


class PlanOut(PlanSummary):
    operations: list[SlotOut]
    orders: list[OutcomeOut]
    errors: list[ErrorOut] = Field(description="what could not be planned, and why")
    notices: list[str]
    notice_items: list[NoticeOut] = Field(
        description="`notices` with their catalogue keys (an extension), in the same order"
    )


class DiffOut(BaseModel):
    plan: int
    previous: int | None
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    moved: list[dict[str, Any]]
    kept: int


class OrderForecast(BaseModel):
    work_order: str
    predicted_finish: datetime
    due_at: datetime
    late: bool


class ForecastOut(BaseModel):
    plan: int
    orders: list[OrderForecast]


class LockIn(BaseModel):
    work_order: Text = Field(max_length=16)
    operation: Text = Field(max_length=4)
    workstation: Text | None = Field(
        default=None, max_length=64, description="default: its workstation in the current plan"
    )
    start: AwareDatetime | None = Field(
        default=None,
        description="when it takes the workstation (its setup starts; the run follows after the "
        "longest setup into its family); default: its setup start in the current plan",
    )


class UnlockIn(BaseModel):
    work_order: Text = Field(max_length=16)
    operation: Text = Field(max_length=4)


class LockOut(BaseModel):
    work_order: str
    operation: str
    workstation: str
    start: datetime
    locked_by: str


class ApproveIn(BaseModel):
    plan: RowId = Field(description="the id of the current plan")


def _current(session: Session) -> PlanRecord:
    record = store.current(session)
    if record is None:
        raise Problem(404, "NO_PLAN", "no plan yet: POST /api/v1/schedule/replan")
    return record


def _summary(r: PlanRecord) -> dict[str, Any]:
    return PlanSummary.model_validate(r, from_attributes=True).model_dump()


def _plan_out(session: Session, record: PlanRecord) -> dict[str, Any]:
    plan = store.as_plan(record, store.slots_of(session, record.id))
    late = {o.order for o in plan.outcomes if not o.on_time}
    return {
        **_summary(record),
        "operations": [SlotOut(**SlotOut.fields(a, late)) for a in plan.assignments],
        "orders": [_outcome(o) for o in plan.outcomes],
        "errors": [ErrorOut.of(e) for e in plan.errors],
        "notices": [n.text for n in plan.notices],
        "notice_items": [NoticeOut.of(n) for n in plan.notices],
    }


def _outcome(o: OrderOutcome) -> OutcomeOut:
    return OutcomeOut(
        work_order=o.order,
        predicted_finish=o.completion,
        due_at=o.due,
        late=not o.on_time,
        tardiness_s=o.tardiness_s,
    )


@router.get(
    "",
    response_model=PlanOut,
    responses=_READ_PLAN,
    summary="The current plan: each operation's slot, each order's predicted finish",
)
def current_plan(session: SessionDep, _who: Reader) -> dict[str, Any]:
    return _plan_out(session, _current(session))


@router.get(
    "/diff",
    response_model=DiffOut,
    responses=_READ_PLAN,
    summary="What the current plan changed against the one before",
)
def current_diff(session: SessionDep, _who: Reader) -> dict[str, Any]:
    record = _current(session)
    return {"plan": record.id, **json.loads(record.diff_json)}


@router.get(
    "/history", response_model=list[PlanSummary], responses=_READ, summary="The plans, newest first"
)
def history(
    session: SessionDep,
    _who: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    rows = session.exec(select(PlanRecord).order_by(col(PlanRecord.id).desc()).limit(limit))
    return [_summary(r) for r in rows]


@router.get(
    "/orders",
    response_model=ForecastOut,
    responses=_READ_PLAN,
    summary="The predicted finish of each planned work order, and whether it is late",
)
def order_forecast(session: SessionDep, _who: Reader) -> dict[str, Any]:
    record = _current(session)
    plan = store.as_plan(record, [])
    return {
        "plan": record.id,
        "orders": [
            OrderForecast(
                work_order=o.order, predicted_finish=o.completion, due_at=o.due, late=not o.on_time
            )
            for o in plan.outcomes
        ],
    }


@router.get(
    "/gantt",
    response_model=Gantt,
    responses=_READ,
    summary="The current plan by workstation for the board's Gantt (board readers, the TV too)",
)
def board_gantt(
    session: SessionDep,
    services: ServicesDep,
    _who: Annotated[Principal, require(Permission.BOARD_READ)],
) -> Gantt:
    return gantt(session, services.cfg, utcnow())


@router.post(
    "/replan",
    response_model=PlanOut,
    responses=_READ,
    summary="Plan now (supervisors); answers the new plan",
)
def replan(
    services: ServicesDep,
    who: Annotated[Principal, require(Permission.WORK_ORDER_ADMIN)],
) -> dict[str, Any]:
    record = services.planning.replan(f"on demand by {who.label}")
    with Session(services.engine) as session:
        return _plan_out(session, record)


@router.post(
    "/lock",
    response_model=LockOut,
    responses=refusals(
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NO_PLAN",
        "OPERATION_NOT_FOUND",
        "UNKNOWN_STATION",
        "OPERATION_STARTED",
        "NOT_ELIGIBLE",
        "START_IN_THE_PAST",
    ),
    summary="Lock an operation's slot (supervisors): every plan keeps it there",
)
def lock(
    body: LockIn,
    services: ServicesDep,
    session: SessionDep,
    who: Annotated[Principal, require(Permission.WORK_ORDER_ADMIN)],
) -> dict[str, Any]:
    record = _current(session)
    slot = session.exec(
        select(PlanSlot)
        .where(PlanSlot.plan_id == record.id)
        .where(PlanSlot.work_order == body.work_order)
        .where(PlanSlot.operation == body.operation)
    ).first()
    if slot is None:
        raise Problem(
            404,
            "OPERATION_NOT_FOUND",
            f"{body.work_order}/{body.operation} is not in the current plan",
        )
    station = body.workstation or slot.workstation
    if station not in services.stations:
        raise Problem(404, "UNKNOWN_STATION", f"no workstation {station!r} in the plant file")
    _check_movable(session, services.cfg, body, station)
    row = session.get(SlotLockRecord, (body.work_order, body.operation)) or SlotLockRecord(
        work_order=body.work_order,
        operation=body.operation,
        workstation=station,
        start=aware(slot.setup_start),
        locked_by=who.label[:64],
    )
    row.workstation, row.start = station, body.start or aware(slot.setup_start)
    row.locked_by, row.locked_at = who.label[:64], utcnow()
    session.add(row)
    audit.record(
        session,
        who.label,
        "schedule.lock",
        f"{body.work_order}/{body.operation}",
        {"workstation": station, "start": row.start.isoformat()},
    )
    session.commit()
    services.planning.soon(f"lock {body.work_order}/{body.operation} by {who.label}")
    return LockOut(
        work_order=row.work_order,
        operation=row.operation,
        workstation=row.workstation,
        start=row.start,
        locked_by=row.locked_by,
    ).model_dump()


_STARTED = (OperationState.RUNNING, OperationState.PAUSED, OperationState.DONE)


def _check_movable(session: Session, cfg: PlantConfig, body: LockIn, station: str) -> None:
    """A slot moves only for an operation not started yet, to a workstation able to run it,
    and not into the past (plans start on the minute)."""
    ref = f"{body.work_order}/{body.operation}"
    op = eligible.operations(session, [body.work_order]).get((body.work_order, body.operation))
    if op is None:
        raise Problem(404, "OPERATION_NOT_FOUND", f"{ref} is not an operation of the plant")
    if op.status in _STARTED:
        where = f" on {op.workstation}" if op.workstation else ""
        raise Problem(
            409,
            "OPERATION_STARTED",
            f"{ref} is {op.status.lower()}{where}: it keeps its workstation and time",
        )
    able = eligible.eligible(cfg, op, eligible.steps(cfg))
    if station not in able:
        raise Problem(
            422,
            "NOT_ELIGIBLE",
            f"{station} cannot run {ref}; it may go on {', '.join(able) or 'no workstation'}",
        )
    minute = utcnow().replace(second=0, microsecond=0)
    if body.start is not None and body.start < minute:
        raise Problem(
            422, "START_IN_THE_PAST", f"{ref} cannot start in the past ({body.start.isoformat()})"
        )


@router.post(
    "/unlock",
    status_code=204,
    responses=refusals("UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND"),
    summary="Unlock an operation's slot (supervisors)",
)
def unlock(
    body: UnlockIn,
    services: ServicesDep,
    session: SessionDep,
    who: Annotated[Principal, require(Permission.WORK_ORDER_ADMIN)],
) -> None:
    row = session.get(SlotLockRecord, (body.work_order, body.operation))
    if row is None:
        raise Problem(404, "NOT_FOUND", f"{body.work_order}/{body.operation} is not locked")
    session.delete(row)
    audit.record(session, who.label, "schedule.unlock", f"{body.work_order}/{body.operation}")
    session.commit()
    services.planning.soon(f"unlock {body.work_order}/{body.operation} by {who.label}")


@router.post(
    "/approve",
    response_model=PlanSummary,
    responses=refusals("UNAUTHENTICATED", "FORBIDDEN", "NO_PLAN", "PLAN_SUPERSEDED"),
    summary="Approve the current plan (supervisors)",
)
def approve(
    body: ApproveIn,
    services: ServicesDep,
    session: SessionDep,
    who: Annotated[Principal, require(Permission.WORK_ORDER_ADMIN)],
) -> dict[str, Any]:
    record = _current(session)
    if record.id != body.plan:
        raise Problem(
            409, "PLAN_SUPERSEDED", f"plan {body.plan} is not the current plan ({record.id})"
        )
    record.approved_by, record.approved_at = who.label[:64], utcnow()
    session.add(record)
    audit.record(session, who.label, "schedule.approve", f"plan:{record.id}")
    store.publish(session, record, store.as_plan(record, store.slots_of(session, record.id)))
    session.commit()
    if services.planning.after_commit is not None:
        services.planning.after_commit()
    session.refresh(record)
    return _summary(record)
