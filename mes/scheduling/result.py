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


def cost(
    inst: Instance,
    schedule: Schedule,
    late_order_units: int,
    promised: frozenset[int] = frozenset(),
    promise_units: int = 0,
) -> int:
    """The first objective: weighted tardiness plus, per late order, `late_order_units` of
    tardiness at its weight (so a plan that keeps more orders on time ranks better); on a
    replan, per late order of `promised` (on time in the previous plan), `promise_units` more
    (a replan breaks a promise only where that saves more than it costs)."""
    wt = score(inst, schedule)[0]
    if late_order_units <= 0 and not (promised and promise_units > 0):
        return wt
    late = late_orders(inst, schedule)
    weights = sum(weight_int(inst.orders[k].order.weight) for k in late)
    broken = sum(weight_int(inst.orders[k].order.weight) for k in late if k in promised)
    return wt + max(late_order_units, 0) * weights + max(promise_units, 0) * broken


def promised_orders(inst: Instance, previous: Schedule) -> frozenset[int]:
    """The orders (indexes) that the previous plan, mapped onto `inst`, finishes on time: all
    their operations still to plan are in it and the last ends by the due date."""
    return frozenset(
        k
        for k, info in enumerate(inst.orders)
        if info.jobs
        and all(j in previous for j in info.jobs)
        and max(previous[j].end for j in info.jobs) <= info.due
    )


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
