"""REST for ERPs that cannot speak MQTT (same operations as `_erp/orders` and `_erp/acks`),
and read access to work orders and their operations."""

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from mes.api.deps import ServicesDep, SessionDep, require
from mes.api.problems import CODES, PROBLEM_CONTENT, Problem, refusals
from mes.api.types import ID_MAX, Text
from mes.auth.roles import Permission, Principal
from mes.orders.acks import apply_ack
from mes.orders.intake import apply_erp_message
from mes.orders.models import Operation, WorkOrder, WorkOrderHold

router = APIRouter(prefix="/api/v1", tags=["orders"])

_PROBLEM = PROBLEM_CONTENT
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or bad token", "content": _PROBLEM},
    403: {"description": "role may not do this", "content": _PROBLEM},
}
RELEASE_EXAMPLE: dict[str, Any] = {
    "v": 1,
    "message_id": "6f1c2a",
    "type": "order.release",
    "order": {
        "erp_id": "PO-1001",
        "product": "BRKT-200",
        "quantity": 500,
        "unit": "pcs",
        "due_at": "2026-12-01T16:00:00Z",
        "priority": 2,
        "routing": "RT-BRKT-200",
        "components": [{"product": "STEEL-2MM", "quantity_per_unit": 0.3, "unit": "kg"}],
    },
}


class OrderMessageIn(BaseModel):
    """An ERP order message exactly as on `_erp/orders` (docs/contracts.md section 5)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [RELEASE_EXAMPLE]})
    v: int = Field(description="schema version, 1", le=ID_MAX)
    message_id: Text = Field(max_length=64)
    type: Text = Field(description="order.release | order.change | order.cancel", max_length=32)
    order: dict[str, Any]


async def _raw_body(request: Request) -> bytes:
    return await request.body()  # read once by FastAPI already: Starlette keeps it


class IntakeOut(BaseModel):
    outcome: str = Field(description="applied | duplicate")
    message_id: str | None
    erp_id: str | None
    work_order: str | None


@router.post(
    "/erp/orders",
    response_model=IntakeOut,
    responses={
        **_AUTH,
        **refusals("CONFLICT", "MESSAGE_TOO_LARGE"),
        422: {"description": "rejected: code as on MQTT", "content": _PROBLEM},
    },
    summary="Release, change or cancel a production order (ERP over REST)",
)
def post_order(
    body: OrderMessageIn,
    raw: Annotated[bytes, Depends(_raw_body)],
    session: SessionDep,
    services: ServicesDep,
    who: Annotated[Principal, require(Permission.ERP_INTAKE)],
) -> IntakeOut:
    # the bytes as sent, as on MQTT: the same size limit, and no field kept that was not sent
    limit = services.cfg.mes.erp.max_message_bytes
    for attempt in (1, 2):
        try:
            result = apply_erp_message(
                session, raw, publish_rejection=False, actor=who.label[:64], max_bytes=limit
            )
            session.commit()
            break
        except IntegrityError:  # the same message or order applied concurrently
            session.rollback()
            if attempt == 2:
                raise Problem(409, "CONFLICT", "the order changed concurrently; retry") from None
    if result.rejection is not None and result.outcome == "rejected":
        raise Problem(
            CODES["MESSAGE_TOO_LARGE"][0] if result.rejection.code == "MESSAGE_TOO_LARGE" else 422,
            result.rejection.code,
            result.rejection.message,
            message_id=result.message_id,
            erp_id=result.erp_id,
        )
    return IntakeOut(
        outcome=result.outcome,
        message_id=result.message_id,
        erp_id=result.erp_id,
        work_order=result.work_order,
    )


class AckIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"message_id": "b1e0"}]})
    message_id: Text = Field(min_length=1, max_length=64)


class AckOut(BaseModel):
    closed: str | None = Field(description="the work order this ack closed, if any")


@router.post(
    "/erp/acks",
    response_model=AckOut,
    responses=_AUTH,
    summary="Acknowledge a confirmation (the final one closes the order)",
)
def post_ack(
    body: AckIn,
    session: SessionDep,
    _who: Annotated[Principal, require(Permission.ERP_INTAKE)],
) -> AckOut:
    closed = apply_ack(session, json.dumps({"message_id": body.message_id}))
    session.commit()
    return AckOut(closed=closed)


class OperationOut(BaseModel):
    number: str
    name: str
    workstation: str | None
    work_centre: str | None
    status: str
    good: int
    scrap: int
    rework: int
    released: int
    started_at: datetime | None
    ended_at: datetime | None


class WorkOrderOut(BaseModel):
    number: str
    erp_id: str
    product: str
    quantity: int
    unit: str
    status: str
    holds: list[str]
    due_at: datetime | None
    priority: int
    started_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    operations: list[OperationOut]


def _out(session: SessionDep, wo: WorkOrder) -> WorkOrderOut:
    ops = session.exec(
        select(Operation).where(Operation.work_order_id == wo.id).order_by(col(Operation.seq))
    ).all()
    holds = session.exec(
        select(WorkOrderHold.hold_id).where(WorkOrderHold.work_order_id == wo.id)
    ).all()
    return WorkOrderOut(
        number=wo.number or "",
        erp_id=wo.erp_id,
        product=wo.product,
        quantity=wo.quantity,
        unit=wo.unit,
        status=wo.status,
        holds=sorted(holds),
        due_at=wo.due_at,
        priority=wo.priority,
        started_at=wo.started_at,
        completed_at=wo.completed_at,
        closed_at=wo.closed_at,
        operations=[OperationOut.model_validate(o, from_attributes=True) for o in ops],
    )


@router.get(
    "/work-orders",
    response_model=list[WorkOrderOut],
    responses=_AUTH,
    summary="Work orders, newest first",
)
def list_work_orders(
    session: SessionDep,
    _who: Annotated[Principal, require(Permission.READ)],
    status: Annotated[Text | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[WorkOrderOut]:
    q = select(WorkOrder).order_by(col(WorkOrder.id).desc()).limit(limit)
    if status:
        q = q.where(WorkOrder.status == status.upper())
    return [_out(session, wo) for wo in session.exec(q).all()]


@router.get(
    "/work-orders/{number}",
    response_model=WorkOrderOut,
    responses={**_AUTH, 404: {"description": "no such work order", "content": _PROBLEM}},
    summary="One work order with its operations",
)
def get_work_order(
    number: Annotated[Text, Path(max_length=32)],
    session: SessionDep,
    _who: Annotated[Principal, require(Permission.READ)],
) -> WorkOrderOut:
    wo = session.exec(select(WorkOrder).where(WorkOrder.number == number.upper())).first()
    if wo is None:
        raise Problem(404, "WORK_ORDER_NOT_FOUND", f"work order {number} does not exist")
    return _out(session, wo)
