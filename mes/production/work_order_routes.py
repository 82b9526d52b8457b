"""Work-order administration over REST for the supervisor board: suspend, resume, abort; and
the production events of an operation (what a correction names)."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from mes.api.deps import ServicesDep, SessionDep, require
from mes.api.problems import Problem, refusals
from mes.api.types import Text
from mes.auth.roles import Permission, Principal
from mes.core.errors import Refusal, RefusalCode
from mes.production import corrections
from mes.production.locking import work_order
from mes.production.work_orders import PRIORITY_MAX

router = APIRouter(prefix="/api/v1/work-orders", tags=["work orders"])

_RESPONSES = refusals(
    "UNAUTHENTICATED", "FORBIDDEN", "WORK_ORDER_NOT_FOUND", "ILLEGAL_STATE", "REASON_REQUIRED"
)
#: HTTP status of each refusal these actions can give
_STATUS = {
    RefusalCode.WORK_ORDER_NOT_FOUND: 404,
    RefusalCode.ILLEGAL_STATE: 409,
    RefusalCode.REASON_REQUIRED: 422,
}

Supervisor = Annotated[Principal, require(Permission.WORK_ORDER_ADMIN)]
Number = Annotated[str, Path(max_length=32, pattern=r"^[^\x00]+$")]


class ReasonIn(BaseModel):
    reason: Text = Field(min_length=1, max_length=500, examples=["urgent order first"])


class WorkOrderStateOut(BaseModel):
    number: str
    status: str = Field(description="the work order's state after the action")


def _act(session: SessionDep, number: str, action: Callable[[], None]) -> WorkOrderStateOut:
    """Run `action`, answer the order's state and commit; a refusal is a problem."""
    try:
        action()
        wo = work_order(session, number)
    except Refusal as exc:
        raise Problem(_STATUS.get(exc.code, 422), exc.code, exc.message) from exc
    out = WorkOrderStateOut(number=wo.number or "", status=wo.status)
    session.commit()
    return out


@router.post(
    "/{number}/suspend",
    response_model=WorkOrderStateOut,
    responses=_RESPONSES,
    summary="Suspend a running work order (supervisor)",
)
def suspend(
    number: Number, body: ReasonIn, who: Supervisor, session: SessionDep, services: ServicesDep
) -> WorkOrderStateOut:
    production = services.production
    return _act(
        session,
        number,
        lambda: production.suspend_work_order(
            session, number, actor=who.label[:64], reason=body.reason
        ),
    )


@router.post(
    "/{number}/resume",
    response_model=WorkOrderStateOut,
    responses=_RESPONSES,
    summary="Resume a suspended work order (supervisor)",
)
def resume(
    number: Number, who: Supervisor, session: SessionDep, services: ServicesDep
) -> WorkOrderStateOut:
    production = services.production
    return _act(
        session, number, lambda: production.resume_work_order(session, number, actor=who.label[:64])
    )


@router.post(
    "/{number}/abort",
    response_model=WorkOrderStateOut,
    responses=_RESPONSES,
    summary="Abort a started work order for good; its holds are dropped (supervisor)",
)
def abort(
    number: Number, body: ReasonIn, who: Supervisor, session: SessionDep, services: ServicesDep
) -> WorkOrderStateOut:
    production = services.production
    return _act(
        session,
        number,
        lambda: production.abort_work_order(
            session, number, actor=who.label[:64], reason=body.reason
        ),
    )


class PriorityIn(BaseModel):
    priority: int = Field(
        ge=0,
        le=PRIORITY_MAX,
        description="0 (lowest) .. 1000; the planner weighs lateness by 1 + priority",
        examples=[5],
    )
    reason: Text = Field(min_length=1, max_length=500, examples=["customer line down"])


class PriorityOut(BaseModel):
    number: str
    status: str
    priority: int
    previous: int = Field(description="the priority it had")


@router.post(
    "/{number}/priority",
    response_model=PriorityOut,
    responses=_RESPONSES,
    summary="Give an open work order another priority (supervisor); the plan follows at once",
)
def reprioritise(
    number: Number, body: PriorityIn, who: Supervisor, session: SessionDep, services: ServicesDep
) -> PriorityOut:
    try:
        before = services.production.reprioritise_work_order(
            session, number, actor=who.label[:64], priority=body.priority, reason=body.reason
        )
        wo = work_order(session, number)
    except Refusal as exc:
        raise Problem(_STATUS.get(exc.code, 422), exc.code, exc.message) from exc
    out = PriorityOut(
        number=wo.number or "", status=wo.status, priority=wo.priority, previous=before
    )
    session.commit()
    if services.cfg.planning.enabled:
        services.planning.soon(f"priority of {out.number} by {who.label}")
    return out


class ProductionEventOut(BaseModel):
    id: int = Field(description="what `POST /api/v1/corrections` names as `production_event`")
    at: datetime
    kind: str
    workstation: str | None
    operator: str | None
    actor: str
    good: int
    scrap: int
    rework: int
    reason: str | None
    correction_of: int | None = Field(description="the event this one compensates")
    corrected_by: int | None = Field(description="the correction that compensated this one")
    confirmation_message_id: str | None


@router.get(
    "/{number}/operations/{operation}/events",
    response_model=list[ProductionEventOut],
    responses=refusals("WORK_ORDER_NOT_FOUND", "OPERATION_NOT_FOUND"),
    summary="The production events of one operation, oldest first (to pick a correction)",
)
def operation_events(
    number: Number,
    operation: Annotated[str, Path(pattern=r"^\d{4}$", examples=["0010"])],
    _who: Annotated[Principal, require(Permission.READ)],
    session: SessionDep,
) -> list[ProductionEventOut]:
    try:
        rows = corrections.operation_events(session, number.upper(), operation)
    except Refusal as exc:
        raise Problem(404, exc.code, exc.message) from exc
    return [
        ProductionEventOut.model_validate(
            {**ev.model_dump(), "corrected_by": corrected_by}, from_attributes=False
        )
        for ev, corrected_by in rows
    ]
