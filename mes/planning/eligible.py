"""Which workstations may run an operation (and at what speed): the routing's workstation, or
every workstation of its work centre, plus the routing operation's alternatives; a started
operation also the workstation it runs on. The planner's adapter and the board's Gantt (where a
bar may be dropped) read the same rule."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from config.plant import PlantConfig
from config.plant import RoutingOperation as RoutingStep
from mes.orders.models import Operation as OperationRow
from mes.orders.models import WorkOrder as WorkOrderRow


def capable(
    cfg: PlantConfig, step: RoutingStep | None, op: OperationRow, running_on: str | None
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


def operations(
    session: Session, numbers: Iterable[str]
) -> dict[tuple[str, str], tuple[WorkOrderRow, OperationRow]]:
    """(work order number, operation number) -> its rows, for the orders named."""
    wanted = sorted(set(numbers))
    if not wanted:
        return {}
    rows = session.exec(
        select(OperationRow, WorkOrderRow)
        .join(WorkOrderRow, col(WorkOrderRow.id) == col(OperationRow.work_order_id))
        .where(col(WorkOrderRow.number).in_(wanted))
    ).all()
    return {(wo.number or "", op.number): (wo, op) for op, wo in rows}


def eligible(
    cfg: PlantConfig,
    wo: WorkOrderRow,
    op: OperationRow,
    routing: dict[tuple[str, str], RoutingStep],
) -> list[str]:
    """The workstations of the plant file able to run `op`, in the plant file's order."""
    known = capable(cfg, routing.get((wo.routing_id, op.number)), op, None)
    return [w.id for w in cfg.workstations if w.id in known]
