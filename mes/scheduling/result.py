"""A schedule in units (one slot per job) turned into a `Plan`, and its lexicographic score."""

from __future__ import annotations

from dataclasses import dataclass

from mes.scheduling.instance import Instance
from mes.scheduling.plan import Assignment, OrderOutcome, Pin, Plan


@dataclass(frozen=True, slots=True)
class Slot:
    machine: str
    setup_start: int
    start: int
    end: int


Schedule = dict[int, Slot]


def score(inst: Instance, schedule: Schedule) -> tuple[int, int, int]:
    """(weighted tardiness, setup units, makespan) in units; lower is better, in this order."""
    wt = 0
    for info in inst.orders:
        if info.jobs:
            done = max(schedule[j].end for j in info.jobs)
            wt += weight_int(info.order.weight) * max(0, done - info.due)
    setups = sum(s.start - s.setup_start for s in schedule.values())
    makespan = max((s.end for s in schedule.values()), default=0)
    return wt, setups, makespan


def late_orders(inst: Instance, schedule: Schedule) -> list[int]:
    """The orders (indexes) that finish after their due date."""
    return [
        k
        for k, info in enumerate(inst.orders)
        if info.jobs and max(schedule[j].end for j in info.jobs) > info.due
    ]


def cost(inst: Instance, schedule: Schedule, late_order_units: int) -> int:
    """The first objective: weighted tardiness plus, per late order, `late_order_units` of
    tardiness at its weight (so a plan that keeps more orders on time ranks better)."""
    wt = score(inst, schedule)[0]
    if late_order_units <= 0:
        return wt
    weights = sum(weight_int(inst.orders[k].order.weight) for k in late_orders(inst, schedule))
    return wt + late_order_units * weights


def weight_int(weight: float) -> int:
    return round(weight * 100)


def to_plan(
    inst: Instance,
    schedule: Schedule,
    *,
    method: str,
    fallback: bool = False,
    note: str = "",
    solver_status: str = "",
) -> Plan:
    assignments = []
    for job in inst.jobs:
        slot = schedule[job.index]
        pin = job.fixed.pin if job.fixed is not None else Pin.PLANNED
        assignments.append(
            Assignment(
                job.ref.order,
                job.ref.operation,
                slot.machine,
                inst.at(slot.setup_start),
                inst.at(slot.start),
                inst.at(slot.end),
                pin,
            )
        )
    outcomes = []
    for info in inst.orders:
        if not info.jobs:
            continue
        done = inst.at(max(schedule[j].end for j in info.jobs))
        late = max((done - info.order.due).total_seconds(), 0.0)
        outcomes.append(OrderOutcome(info.order.id, done, info.order.due, late, info.order.weight))
    return Plan(
        tuple(assignments),
        tuple(outcomes),
        tuple(inst.errors),
        method,
        fallback,
        note,
        solver_status,
        tuple(inst.notices),
    )
