"""A replan keeps the previous plan's promises and moves only what it must (issue 15 item 4):
the cost of a broken promise, the cost of a moved operation, and the replan's own search."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from mes.scheduling import (
    Breakdown,
    FloorState,
    Plan,
    PlannerSettings,
    Problem,
    SolverSettings,
    plan,
)
from mes.scheduling.dispatch import Rule, dispatch
from mes.scheduling.instance import Instance, build
from mes.scheduling.result import Schedule, Slot, cost, late_orders, promised_orders, score
from mes.scheduling.search import reinsert
from tests.scheduling.instances import NOW, random_problem, single_machine
from tests.scheduling.validator import validate

SETTINGS = PlannerSettings(solver=SolverSettings(time_limit_s=5.0, workers=2, seed=0))
# stops on CP-SAT's deterministic time (the wall limit is a cap far off): the same plan on a
# loaded machine
STEADY = PlannerSettings(
    solver=SolverSettings(time_limit_s=30.0, workers=2, seed=0, deterministic_time=2.0)
)


def _schedule_of(inst: Instance, result: Plan) -> Schedule:
    by_ref = {(a.order, a.operation): a for a in result.assignments}
    out: Schedule = {}
    for job in inst.jobs:
        a = by_ref.get((job.ref.order, job.ref.operation))
        if a is not None:
            out[job.index] = Slot(
                a.workstation,
                inst.units(a.setup_start, up=False),
                inst.units(a.start, up=False),
                inst.units(a.end, up=False),
            )
    return out


def _starts(result: Plan) -> dict[str, datetime]:
    return {a.order: a.setup_start for a in result.assignments}


def _on_time(result: Plan) -> set[str]:
    return {o.order for o in result.outcomes if o.on_time}


def _with_rush(problem: Problem, rush: Problem) -> Problem:
    return dataclasses.replace(problem, orders=problem.orders + rush.orders)


def test_promised_orders_are_those_the_previous_plan_has_on_time() -> None:
    # one machine: A (60 min, due 70) then B (60 min, due 100): A on time, B 20 min late
    problem = single_machine(("A", 360, 0, 70), ("B", 360, 0, 100))
    inst = build(problem)
    first = plan(problem, PlannerSettings(use_solver=False, search=None))
    schedule = _schedule_of(inst, first)
    assert [inst.orders[k].order.id for k in late_orders(inst, schedule)] == ["B"]
    a = next(k for k, info in enumerate(inst.orders) if info.order.id == "A")
    # A ends at 60, due at 70: promised for 70, or with a 30 min margin for 60 (its finish)
    assert promised_orders(inst, schedule) == {a: 70}
    assert promised_orders(inst, schedule, 5) == {a: 65}
    assert promised_orders(inst, schedule, 30) == {a: 60}
    # an order with an operation the previous plan does not have is promised nothing
    assert promised_orders(inst, {}) == {}


def test_a_broken_promise_costs_its_weight_in_the_first_objective() -> None:
    problem = single_machine(("A", 360, 0, 70), ("B", 360, 0, 100, 2.0))
    inst = build(problem)
    schedule = {0: Slot("M1", 60, 60, 120), 1: Slot("M1", 0, 0, 60)}  # B first, A 50 min late
    a = next(k for k, info in enumerate(inst.orders) if info.order.id == "A")
    wt = score(inst, schedule)[0]
    assert wt == 50 * 100
    assert cost(inst, schedule, 480) == wt + 480 * 100
    assert cost(inst, schedule, 480, {a: 70}, 1000) == wt + 480 * 100 + 1000 * 100
    # B is on time: its promise costs nothing, unless it was promised earlier than it ends
    b = 1 - a
    assert cost(inst, schedule, 480, {b: 100}, 1000) == wt + 480 * 100
    assert cost(inst, schedule, 480, {b: 59}, 1000) == wt + 480 * 100 + 1000 * 200


def test_a_rush_order_goes_into_the_slack_of_the_promised_orders() -> None:
    # A 0-60 (due 150), B 60-120 (due 180): 30 and 60 min of slack; the rush order R (30 min,
    # weight 5, due 60) fits in front of both without making either late
    problem = single_machine(("A", 360, 0, 150), ("B", 360, 0, 180))
    first = plan(problem, SETTINGS)
    assert _on_time(first) == {"A", "B"}
    rushed = _with_rush(problem, single_machine(("R", 180, 0, 60, 5.0)))
    no_margin = dataclasses.replace(SETTINGS, promise_margin_s=0.0)
    again = plan(rushed, no_margin, previous=first)
    assert validate(rushed, again) == []
    assert _on_time(again) == {"A", "B", "R"}
    assert _starts(again)["R"] == NOW
    # with a margin of 4 h A and B keep their slack for the next disturbance: each is held to
    # its previous finish, so R waits
    kept = plan(rushed, dataclasses.replace(SETTINGS, promise_margin_s=4 * 3600.0), previous=first)
    assert validate(rushed, kept) == []
    assert _starts(kept)["R"] == NOW + timedelta(minutes=120)
    # a margin of 20 min holds A to 130 and B to 160: R's 30 min still fit in front of both
    some = plan(rushed, dataclasses.replace(SETTINGS, promise_margin_s=1200.0), previous=first)
    assert validate(rushed, some) == []
    assert _starts(some)["R"] == NOW
    assert _on_time(some) == {"A", "B", "R"}
    # 40 min holds B to 140: R in front would end B at 150, so R waits again
    tight = plan(rushed, dataclasses.replace(SETTINGS, promise_margin_s=2400.0), previous=first)
    assert _starts(tight)["R"] == NOW + timedelta(minutes=120)


def test_a_replan_does_not_break_a_promise_for_a_rush_order() -> None:
    # as above with B due at 170 and R 60 min: R in front makes B 10 min late. At weight 5, R
    # late costs more than B late, but B was promised: the replan keeps B on time (R last)
    problem = single_machine(("A", 360, 0, 150), ("B", 360, 0, 170))
    first = plan(problem, SETTINGS)
    assert _on_time(first) == {"A", "B"}
    rushed = _with_rush(problem, single_machine(("R", 360, 0, 60, 5.0)))
    again = plan(rushed, SETTINGS, previous=first)
    assert validate(rushed, again) == []
    assert _on_time(again) == {"A", "B"}
    assert _starts(again)["R"] == NOW + timedelta(minutes=120)
    # without the promise, the tardiness alone puts R first and A or B is late
    free = plan(rushed, dataclasses.replace(SETTINGS, promise_cost_s=0.0), previous=first)
    assert _starts(free)["R"] == NOW
    assert len(_on_time(free) & {"A", "B"}) == 1


def _far_due(problem: Problem) -> Problem:
    """Due dates a month out: the breakdown threatens no order, so nothing but it moves."""
    return dataclasses.replace(
        problem,
        orders=tuple(
            dataclasses.replace(o, due=o.release + timedelta(days=30)) for o in problem.orders
        ),
    )


def _forced(first: Plan, machine: str, until: datetime) -> set[tuple[str, str]]:
    """What a breakdown of `machine` until `until` can force to move: its operations that start
    before `until`, then (transitively) everything after a forced operation on the same
    workstation and the later operations of its work order."""
    by_machine: dict[str, list[tuple[datetime, tuple[str, str]]]] = {}
    ops_of: dict[str, list[tuple[datetime, tuple[str, str]]]] = {}
    for a in first.assignments:
        by_machine.setdefault(a.workstation, []).append((a.setup_start, (a.order, a.operation)))
        ops_of.setdefault(a.order, []).append((a.setup_start, (a.order, a.operation)))
    at = {(a.order, a.operation): a for a in first.assignments}
    todo = [k for t, k in by_machine.get(machine, []) if t < until]
    forced: set[tuple[str, str]] = set()
    while todo:
        key = todo.pop()
        if key in forced:
            continue
        forced.add(key)
        a = at[key]
        todo += [k for t, k in by_machine[a.workstation] if t > a.setup_start]
        todo += [k for k in (k for _, k in ops_of[a.order]) if k[1] > a.operation]
    return forced


def test_a_replan_after_a_breakdown_moves_nothing_the_breakdown_does_not_force() -> None:
    for seed in (3, 4, 5):
        problem = _far_due(random_problem(seed, orders=10, machines=5))
        first = plan(problem, STEADY)
        machine = "M1"
        until = NOW + timedelta(hours=2)
        broken = dataclasses.replace(
            problem, floor=FloorState(breakdowns=(Breakdown(machine, until),))
        )
        again = plan(broken, STEADY, previous=first)
        assert validate(broken, again) == []
        before = {(a.order, a.operation): (a.workstation, a.setup_start) for a in first.assignments}
        after = {(a.order, a.operation): (a.workstation, a.setup_start) for a in again.assignments}
        moved = {k for k in before if before[k] != after[k]}
        forced = _forced(first, machine, until)
        assert len(forced) < len(before), "the breakdown must leave something alone"
        assert moved <= forced, f"seed {seed}: moved without need: {sorted(moved - forced)}"


def test_the_replan_search_is_reproducible_and_no_worse_than_its_start() -> None:
    problem = random_problem(7, orders=12)
    first = plan(problem, PlannerSettings(use_solver=False))
    rushed = dataclasses.replace(
        _with_rush(problem, single_machine(("R", 120, 0, 90, 5.0))),
        floor=FloorState(breakdowns=(Breakdown("M2", NOW + timedelta(hours=1)),)),
    )
    inst = build(rushed)
    prev = {k: v for k, v in _schedule_of(inst, first).items() if v.machine in inst.jobs[k].modes}
    promised = promised_orders(inst, prev)

    def rank(schedule: Schedule) -> tuple[int, ...]:
        return (cost(inst, schedule, 480, promised, 20160), *score(inst, schedule)[1:])

    start = dispatch(inst, Rule.FIFO)
    runs = [
        reinsert(inst, prev, start, rank, seconds=60.0, evaluations=40, seed=3) for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert rank(runs[0][0]) <= rank(start)
