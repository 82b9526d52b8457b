"""The adapter: the planning `Problem` from the database and the plant file.

Work orders RELEASED or RUNNING and their operations (DONE ones are done; RUNNING or PAUSED ones
on a workstation keep it and continue from the quantity reported); workstations with their
work centre's shift calendar, speed and the family of the job they run; the ERP's material
stock (only materials the ERP reported constrain the plan); open breakdowns (a `fault`
downtime event) until their expected return; the previous plan's slots inside the frozen
horizon, and the supervisors' locks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from config.plant import PlantConfig
from config.plant import RoutingOperation as RoutingStep
from mes.core.clock import aware
from mes.orders.models import Operation as OperationRow
from mes.orders.models import WorkOrder as WorkOrderRow
from mes.orders.states import OperationState, WorkOrderState
from mes.orders.stock_models import MaterialReceipt, MaterialStock
from mes.performance.calendars import calendar_for
from mes.performance.models import DowntimeEvent
from mes.performance.states import MachineState
from mes.planning import eligible
from mes.planning.models import PlanSlot, SlotLockRecord
from mes.scheduling import (
    Breakdown,
    Capability,
    FloorState,
    Material,
    MaterialNeed,
    Operation,
    OperationRef,
    Problem,
    Receipt,
    RunningOperation,
    SetupMatrix,
    SlotLock,
    WorkOrder,
    Workstation,
)

#: work orders the plan covers
PLANNED_ORDERS = (WorkOrderState.RELEASED, WorkOrderState.RUNNING)
#: an order without a due date is due this long after its release
DEFAULT_LEAD_TIME = timedelta(days=30)
_STARTED = (OperationState.RUNNING, OperationState.PAUSED)


def build_problem(
    session: Session, cfg: PlantConfig, now: datetime, previous: Sequence[PlanSlot] = ()
) -> Problem:
    """`previous`: the current plan's slots (those inside the frozen horizon stay)."""
    families = {p.code: p.family or p.code for p in cfg.products}
    steps = eligible.steps(cfg)
    rows = session.exec(
        select(OperationRow, WorkOrderRow)
        .join(WorkOrderRow, col(WorkOrderRow.id) == col(OperationRow.work_order_id))
        .where(col(WorkOrderRow.status).in_(PLANNED_ORDERS))
        .order_by(col(WorkOrderRow.id), col(OperationRow.seq))
    ).all()
    tracked = {m.material for m in session.exec(select(MaterialStock)).all()}
    by_order: dict[str, tuple[WorkOrderRow, list[OperationRow]]] = {}
    for op, wo in rows:
        by_order.setdefault(_number(wo), (wo, []))[1].append(op)
    done: set[OperationRef] = set()
    running: list[RunningOperation] = []
    current_family: dict[str, str] = {}
    orders = []
    for number, (wo, ops) in by_order.items():
        family = families.get(wo.product, wo.product)
        operations = []
        for op in ops:
            ref = OperationRef(number, op.number)
            started = op.status in _STARTED and op.workstation is not None
            if op.status == OperationState.DONE:
                done.add(ref)
            elif started and op.workstation is not None:
                running.append(RunningOperation(ref, op.workstation, float(op.processed)))
                current_family[op.workstation] = family
            operations.append(
                _operation(cfg, op, wo, steps.get((wo.routing_id, op.number)), tracked, started)
            )
        release = aware(wo.created_at)
        orders.append(
            WorkOrder(
                id=number,
                product=wo.product,
                family=family,
                quantity=float(wo.quantity),
                release=release,
                due=aware(wo.due_at) or release + DEFAULT_LEAD_TIME,
                operations=tuple(operations),
                weight=1.0 + wo.priority,
            )
        )
    planning = cfg.planning
    return Problem(
        now=now,
        orders=tuple(orders),
        workstations=_workstations(session, cfg, current_family),
        materials=_materials(session),
        setups=SetupMatrix(
            tuple((s.from_family, s.to_family, s.seconds) for s in planning.setups),
            planning.default_setup_s,
        ),
        floor=FloorState(
            done=frozenset(done),
            running=tuple(running),
            # held from where the plan set the workstation up (SlotLock.start is the setup start)
            dispatched=tuple(
                SlotLock(
                    OperationRef(s.work_order, s.operation), s.workstation, aware(s.setup_start)
                )
                for s in previous
            ),
            locks=_locks(session, by_order, previous, done | {r.ref for r in running}),
            breakdowns=breakdowns(session, cfg, now),
            frozen_horizon=timedelta(seconds=planning.frozen_horizon_s),
        ),
    )


def _number(wo: WorkOrderRow) -> str:
    return wo.number or str(wo.id)


def _operation(
    cfg: PlantConfig,
    op: OperationRow,
    wo: WorkOrderRow,
    step: RoutingStep | None,
    tracked: set[str],
    started: bool,
) -> Operation:
    station = step.workstation if step is not None else op.workstation
    centre = step.work_centre if step is not None else op.work_centre
    capable = eligible.capable(
        cfg, step, op, op.workstation if started and op.workstation is not None else None
    )
    quantity = max(wo.quantity, 1)
    needs: list[MaterialNeed] = []
    if not started:  # a started operation took its material already
        for c in json.loads(op.components_json or "[]"):
            if c["product"] in tracked:
                needs.append(MaterialNeed(c["product"], c["quantity_per_unit"] * wo.quantity))
    return Operation(
        id=op.number,
        work_centre=centre or station or "",
        workstations=tuple(Capability(ws, speed) for ws, speed in capable.items()),
        # the routing's fixed setup is done each time: it counts as part of the run
        run_s_per_unit=op.cycle_time_s + op.setup_time_s / quantity,
        min_wait_s=step.transfer_s if step is not None else 0.0,
        materials=tuple(needs),
    )


def _workstations(
    session: Session, cfg: PlantConfig, current_family: dict[str, str]
) -> tuple[Workstation, ...]:
    calendars = {}
    out = []
    for w in cfg.workstations:
        if w.work_centre not in calendars:
            calendars[w.work_centre] = calendar_for(session, cfg, w.work_centre)
        out.append(
            Workstation(
                id=w.id,
                work_centre=w.work_centre or w.id,
                calendar=calendars[w.work_centre],
                initial_family=current_family.get(w.id),
            )
        )
    return tuple(out)


def _materials(session: Session) -> tuple[Material, ...]:
    receipts: dict[str, list[Receipt]] = {}
    for r in session.exec(select(MaterialReceipt).order_by(col(MaterialReceipt.expected_at))):
        receipts.setdefault(r.material, []).append(Receipt(aware(r.expected_at), r.quantity))
    return tuple(
        Material(m.material, m.on_hand, tuple(receipts.get(m.material, ())))
        for m in session.exec(select(MaterialStock).order_by(col(MaterialStock.material)))
    )


def _locks(
    session: Session,
    by_order: dict[str, tuple[WorkOrderRow, list[OperationRow]]],
    previous: Sequence[PlanSlot],
    started: set[OperationRef],
) -> tuple[SlotLock, ...]:
    """The supervisors' locks, and with each the operations of its order before it (not yet
    started) where the current plan has them: a locked slot after an operation left free
    could not be kept (the planner would plan it again)."""
    locks = {
        OperationRef(r.work_order, r.operation): SlotLock(
            OperationRef(r.work_order, r.operation), r.workstation, aware(r.start)
        )
        for r in session.exec(select(SlotLockRecord))
    }
    slots = {OperationRef(s.work_order, s.operation): s for s in previous}
    for lock in list(locks.values()):
        _, ops = by_order.get(lock.ref.order, (None, []))
        before = [o.number for o in ops]
        if lock.ref.operation not in before:
            continue
        for number in reversed(before[: before.index(lock.ref.operation)]):
            ref = OperationRef(lock.ref.order, number)
            slot = slots.get(ref)
            if ref in started or ref in locks:
                break
            if slot is None or aware(slot.end) > lock.start:
                break
            locks[ref] = SlotLock(ref, slot.workstation, aware(slot.setup_start))
    return tuple(locks.values())


def breakdowns(session: Session, cfg: PlantConfig, now: datetime) -> tuple[Breakdown, ...]:
    """Open `fault` downtime events of configured workstations, with their expected return."""
    stations = {w.id for w in cfg.workstations}
    repair = timedelta(seconds=cfg.planning.breakdown_repair_s)
    least = timedelta(seconds=cfg.planning.breakdown_min_left_s)
    out: dict[str, datetime] = {}
    for e in session.exec(
        select(DowntimeEvent)
        .where(col(DowntimeEvent.end).is_(None))
        .where(col(DowntimeEvent.state) == MachineState.FAULT)
    ):
        if e.work_unit in stations:
            back = max(aware(e.start) + repair, now + least)
            out[e.work_unit] = max(back, out.get(e.work_unit, back))
    return tuple(Breakdown(ws, at) for ws, at in sorted(out.items()))
