"""A schedule in units (one slot per job) turned into a `Plan`, and its lexicographic score."""

from __future__ import annotations

from collections.abc import Mapping
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
    promised: Mapping[int, int] | None = None,
    promise_units: int = 0,
) -> int:
    """The first objective: weighted tardiness plus, per late order, `late_order_units` of
    tardiness at its weight (so a plan that keeps more orders on time ranks better); on a
    replan, per order of `promised` that finishes after its promised time, `promise_units`
    more (a replan breaks a promise only where that saves more than it costs)."""
    wt = score(inst, schedule)[0]
    promised = promised or {}
    if late_order_units <= 0 and not (promised and promise_units > 0):
        return wt
    late = late_orders(inst, schedule)
    weights = sum(weight_int(inst.orders[k].order.weight) for k in late)
    broken = sum(
        weight_int(inst.orders[k].order.weight)
        for k, by in promised.items()
        if max(schedule[j].end for j in inst.orders[k].jobs) > by
    )
    return wt + max(late_order_units, 0) * weights + max(promise_units, 0) * broken


def promised_orders(inst: Instance, previous: Schedule, margin: int = 0) -> dict[int, int]:
    """The orders (indexes) that the previous plan, mapped onto `inst`, finishes on time (all
    their operations still to plan are in it and the last ends by the due date), and the time
    (units) each is promised for: its due date less `margin`, or its previous finish when
    that is later (a replan keeps that much of an order's slack for the next disturbance)."""
    out = {}
    for k, info in enumerate(inst.orders):
        if info.jobs and all(j in previous for j in info.jobs):
            finish = max(previous[j].end for j in info.jobs)
            if finish <= info.due:
                out[k] = max(finish, info.due - margin)
    return out


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
