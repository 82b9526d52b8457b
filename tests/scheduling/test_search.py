"""The search before the solver and the cost per late order."""

from __future__ import annotations

from mes.scheduling import (
    Plan,
    PlannerSettings,
    SolverSettings,
    plan,
)
from mes.scheduling.instance import Instance, build
from mes.scheduling.result import Schedule, Slot, cost, late_orders, score
from mes.scheduling.search import improve
from tests.scheduling.instances import random_problem, single_machine
from tests.scheduling.validator import validate

SOLVER = SolverSettings(time_limit_s=3.0, workers=2)


def test_a_late_order_costs_enough_to_keep_two_others_on_time() -> None:
    # A first: A on time, B and C late by 8 and 18 min (weighted tardiness 26 min);
    # B and C first: both on time, A 20 min late at weight 1.5 (30 min): more tardiness,
    # one late order instead of two
    problem = single_machine(("A", 180, 0, 30, 1.5), ("B", 60, 0, 32), ("C", 60, 0, 32))
    tardiness_only = plan(problem, PlannerSettings(solver=SOLVER, late_order_cost_s=0.0))
    default = plan(problem, PlannerSettings(solver=SOLVER))
    for result in (tardiness_only, default):
        assert validate(problem, result) == []
    assert tardiness_only.weighted_tardiness == 26 * 60
    assert round(tardiness_only.on_time_rate * 3) == 1
    assert default.weighted_tardiness == 30 * 60
    assert round(default.on_time_rate * 3) == 2


def test_cost_adds_the_late_orders_at_their_weight() -> None:
    problem = single_machine(("A", 180, 0, 30, 1.5), ("B", 60, 0, 32), ("C", 60, 0, 32))
    result = plan(problem, PlannerSettings(search=None, use_solver=False))
    inst = build(problem)
    schedule = _schedule_of(inst, result)
    late = late_orders(inst, schedule)
    assert late
    weights = sum(round(inst.orders[k].order.weight * 100) for k in late)
    assert cost(inst, schedule, 480) == score(inst, schedule)[0] + 480 * weights
    assert cost(inst, schedule, 0) == score(inst, schedule)[0]


def test_search_is_reproducible_and_no_worse_than_its_start() -> None:
    problem = random_problem(5, orders=14)
    inst = build(problem)
    first = plan(problem, PlannerSettings(use_solver=False))
    start = _schedule_of(inst, first)

    def rank(schedule: Schedule) -> tuple[int, ...]:
        return (cost(inst, schedule, 480), *score(inst, schedule)[1:])

    runs = [improve(inst, start, rank, seconds=60.0, evaluations=40, seed=3) for _ in range(2)]
    assert runs[0] == runs[1]
    assert rank(runs[0][0]) <= rank(start)


def test_fresh_plans_through_the_search_are_valid() -> None:
    for seed in (21, 22):
        problem = random_problem(seed, orders=12)
        result = plan(problem, PlannerSettings(solver=SolverSettings(time_limit_s=2.0)))
        assert validate(problem, result) == []


def _schedule_of(inst: Instance, result: Plan) -> Schedule:
    by_ref = {(a.order, a.operation): a for a in result.assignments}
    out: Schedule = {}
    for job in inst.jobs:
        a = by_ref[(job.ref.order, job.ref.operation)]
        out[job.index] = Slot(
            a.workstation,
            inst.units(a.setup_start, up=False),
            inst.units(a.start, up=False),
            inst.units(a.end, up=False),
        )
    return out
