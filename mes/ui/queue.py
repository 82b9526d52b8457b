"""The station's queue: released and running jobs of its workstation and work centre, in the
order of the current plan (mes/planning): the jobs planned on this station by planned start,
then those planned on another station of its work centre, then the unplanned ones by priority
then due date."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlmodel import col, or_, select

from mes.api.deps import ServicesDep, SessionDep, require
from mes.api.problems import Problem, refusals
from mes.api.types import Text
from mes.auth.roles import Permission, Principal
from mes.core.clock import aware
from mes.core.names import PlantNames
from mes.orders.models import Operation, WorkOrder
from mes.planning.models import PlanSlot
from mes.planning.store import current

router = APIRouter(prefix="/api/v1", tags=["stations"])

#: work orders an operator may still work on, and the operations that are open
_ORDER_OPEN = ("RELEASED", "RUNNING")
_OPERATION_OPEN = ("READY", "RUNNING", "PAUSED")


class QueuedJob(BaseModel):
    work_order: str
    operation: str
    name: str
    names: dict[str, str] = Field(
        default={},
        description="the operation's name by language: en as `name`, zh-CN the routing "
        "operation's `name_zh_cn` (else the English one)",
    )
    product: str
    quantity: int
    unit: str
    good: int
    scrap: int
    status: str
    due_at: datetime | None
    priority: int
    planned_start: datetime | None = Field(
        default=None, description="run start in the current plan (none: not planned)"
    )
    planned_workstation: str | None = Field(
        default=None, description="the workstation the current plan runs it on"
    )


class StationQueueOut(BaseModel):
    station: str
    work_centre: str | None
    work_centre_names: dict[str, str] | None = Field(
        default=None,
        description="the work centre's names by language (en, zh-CN; default: its id); "
        "null without a work centre",
    )
    area: str
    language: str | None
    jobs: list[QueuedJob]


@router.get(
    "/stations/{station}/queue",
    response_model=StationQueueOut,
    responses=refusals("UNAUTHENTICATED", "FORBIDDEN", "UNKNOWN_STATION"),
    summary="The station's jobs (its own and its work centre's), in plan order",
)
def station_queue(
    station: Text,
    services: ServicesDep,
    session: SessionDep,
    who: Annotated[Principal, require(Permission.READ)],
) -> dict[str, Any]:
    ws = next((w for w in services.cfg.workstations if w.id == station), None)
    if ws is None:
        raise Problem(404, "UNKNOWN_STATION", f"no workstation {station!r} in the plant file")
    if who.station is not None and who.station != station:
        raise Problem(403, "FORBIDDEN", f"this token belongs to station {who.station!r}")
    where = col(Operation.workstation) == station
    if ws.work_centre:
        where = or_(where, col(Operation.work_centre) == ws.work_centre)
    rows = session.exec(
        select(Operation, WorkOrder)
        .join(WorkOrder, col(WorkOrder.id) == col(Operation.work_order_id))
        .where(where)
        .where(col(WorkOrder.status).in_(_ORDER_OPEN))
        .where(col(Operation.status).in_(_OPERATION_OPEN))
        .order_by(col(WorkOrder.priority).desc(), col(WorkOrder.due_at), col(WorkOrder.id))
        .limit(200)
    ).all()
    plan = current(session)
    planned: dict[tuple[str, str], PlanSlot] = {}
    if plan is not None:
        numbers = list({wo.number for _, wo in rows if wo.number})
        for slot in session.exec(
            select(PlanSlot)
            .where(PlanSlot.plan_id == plan.id)
            .where(col(PlanSlot.work_order).in_(numbers))
        ):
            planned[(slot.work_order, slot.operation)] = slot
    names = PlantNames.of(services.cfg)
    jobs = [
        QueuedJob(
            work_order=wo.number or str(wo.id),
            operation=op.number,
            name=op.name,
            names=names.operation(wo.routing_id, op.number, op.name),
            product=wo.product,
            quantity=wo.quantity,
            unit=wo.unit,
            good=op.good,
            scrap=op.scrap,
            status=op.status,
            due_at=wo.due_at,
            priority=wo.priority,
            planned_start=aware(slot.start) if slot else None,
            planned_workstation=slot.workstation if slot else None,
        )
        for op, wo in rows
        for slot in [planned.get((wo.number or "", op.number))]
    ]
    # stable: jobs without a slot keep the priority / due date order of the query
    jobs.sort(key=lambda j: _plan_rank(j, station))
    return {
        "station": station,
        "work_centre": ws.work_centre,
        "work_centre_names": names.work_centre_of(ws.work_centre),
        "area": ws.path.split("/", 1)[0],
        "language": ws.language,
        "jobs": jobs,
    }


def _plan_rank(job: QueuedJob, station: str) -> tuple[int, float]:
    if job.planned_start is None:
        return (2, 0.0)
    return (0 if job.planned_workstation == station else 1, job.planned_start.timestamp())
