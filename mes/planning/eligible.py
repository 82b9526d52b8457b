"""Which workstations may run an operation (and at what speed): the routing's workstation, or
every workstation of its work centre, plus the routing operation's alternatives; a started
operation also the workstation it runs on. The planner's adapter and the board's Gantt (where a
bar may be dropped) read the same rule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from config.plant import PlantConfig
from config.plant import RoutingOperation as RoutingStep
from mes.orders.models import Operation as OperationRow
from mes.orders.models import WorkOrder as WorkOrderRow


class Routed(Protocol):
    """An operation as far as who may run it goes (a row, or `Planned`)."""

    @property
    def workstation(self) -> str | None: ...
    @property
    def work_centre(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Planned:
    """What the Gantt and the lock read of an operation and its work order."""

    work_order: str
    routing_id: str
    product: str
    priority: int
    due_at: datetime | None
    number: str
    name: str
    status: str
    workstation: str | None
    work_centre: str | None


def capable(
    cfg: PlantConfig, step: RoutingStep | None, op: Routed, running_on: str | None
) -> dict[str, float]:
    """Workstation -> speed. `running_on`: where a started operation runs (None if not)."""
    speeds = {w.id: w.speed for w in cfg.workstations}
    # the routing says who may run it; the row's workstation is where it runs once started
    station = step.workstation if step is not None else op.workstation
    centre = step.work_centre if step is not None else op.work_centre
    out: dict[str, float] = {}
    if station is not None:
        out[station] = speeds.get(station, 1.0)
    elif centre is not None:
        for w in cfg.workstations:
            if w.work_centre == centre:
                out[w.id] = w.speed
    for alt in step.alternatives if step is not None else ():
        out.setdefault(alt.workstation, alt.speed)
    if running_on is not None:
        out.setdefault(running_on, speeds.get(running_on, 1.0))
    return out


def steps(cfg: PlantConfig) -> dict[tuple[str, str], RoutingStep]:
    """(routing id, operation number) -> the routing's operation."""
    return {(r.id, op.number): op for r in cfg.routings for op in r.operations}


def operations(session: Session, numbers: Iterable[str]) -> dict[tuple[str, str], Planned]:
    """(work order number, operation number) -> the operation, for the orders named (the
    columns only: a Gantt reads a thousand of them)."""
    wanted = sorted(set(numbers))
    if not wanted:
        return {}
    rows = session.execute(  # sqlmodel's select types at most four columns
        sa_select(
            col(WorkOrderRow.number),
            col(WorkOrderRow.routing_id),
            col(WorkOrderRow.product),
            col(WorkOrderRow.priority),
            col(WorkOrderRow.due_at),
            col(OperationRow.number),
            col(OperationRow.name),
            col(OperationRow.status),
            col(OperationRow.workstation),
            col(OperationRow.work_centre),
        )
        .join(WorkOrderRow, col(WorkOrderRow.id) == col(OperationRow.work_order_id))
        .where(col(WorkOrderRow.number).in_(wanted))
    ).all()
    out = {}
    for row in rows:
        op = Planned(row[0] or "", *row[1:])
        out[(op.work_order, op.number)] = op
    return out


def eligible(
    cfg: PlantConfig, op: Planned, routing: dict[tuple[str, str], RoutingStep]
) -> list[str]:
    """The workstations of the plant file able to run `op`, in the plant file's order."""
    known = capable(cfg, routing.get((op.routing_id, op.number)), op, None)
    return [w.id for w in cfg.workstations if w.id in known]
