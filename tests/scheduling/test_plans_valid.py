"""Every plan, by the solver or by any dispatch rule, passes the independent validator."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mes.scheduling import PlannerSettings, SolverSettings, plan
from mes.scheduling.dispatch import Rule
from tests.scheduling.instances import random_problem
from tests.scheduling.validator import validate

FAST = SolverSettings(time_limit_s=2.0, workers=2)


@pytest.mark.parametrize("seed", range(4))
def test_solver_plans_are_valid(seed: int) -> None:
    problem = random_problem(seed)
    result = plan(problem, PlannerSettings(solver=FAST))
    assert result.errors == ()
    assert validate(problem, result) == []
    assert len(result.assignments) == sum(len(o.operations) for o in problem.orders)


@pytest.mark.parametrize("rule", list(Rule))
@pytest.mark.parametrize("seed", range(4))
def test_rule_plans_are_valid(seed: int, rule: Rule) -> None:
    problem = random_problem(seed, orders=10)
    result = plan(problem, PlannerSettings(rules=(rule,), use_solver=False))
    assert result.method == f"rule:{rule}"
    assert validate(problem, result) == []


def test_solver_is_no_worse_than_the_best_rule() -> None:
    problem = random_problem(11, orders=10)
    rules = [plan(problem, PlannerSettings(rules=(r,), use_solver=False)) for r in Rule]
    solved = plan(problem, PlannerSettings(solver=FAST))
    best = min(r.weighted_tardiness for r in rules)
    assert solved.weighted_tardiness <= best


def test_validator_catches_a_broken_plan() -> None:
    """The validator itself fails on overlap, closed time and precedence."""
    import dataclasses
    from datetime import timedelta

    problem = random_problem(1)
    good = plan(problem, PlannerSettings(use_solver=False))
    a = good.assignments
    # move the second operation of the first order before the first one ends
    first, second = a[0], a[1]
    shifted = dataclasses.replace(
        second,
        setup_start=first.start,
        start=first.start,
        end=first.start + (second.end - second.start),
    )
    broken = dataclasses.replace(good, assignments=(first, shifted, *a[2:]))
    problems = validate(problem, broken)
    assert any("ends plus its wait" in p for p in problems)
    night = dataclasses.replace(
        first,
        setup_start=first.setup_start + timedelta(hours=18),
        start=first.start + timedelta(hours=18),
        end=first.end + timedelta(hours=18),
    )
    broken = dataclasses.replace(good, assignments=(night, *a[1:]))
    assert validate(problem, broken) != []


def test_plans_follow_the_calendar_over_the_dst_weekend() -> None:
    """Berlin switches to summer time on Sunday 2026-03-29: Monday's early shift opens at
    06:00 CEST = 04:00 UTC (it was 05:00 UTC the Monday before)."""
    from datetime import UTC, datetime

    from mes.scheduling import Capability, Operation, Problem, WorkOrder, Workstation
    from tests.scheduling.instances import NOW, two_shifts

    orders = tuple(
        WorkOrder(
            f"W{k:02d}",
            "P",
            "A",
            10,
            NOW,
            NOW + timedelta(days=5),
            (Operation("0010", "WC", (Capability("M1"),), 720.0),),
        )
        for k in range(14)
    )
    problem = Problem(NOW, orders, (Workstation("M1", "WC", two_shifts(), initial_family="A"),))
    for settings in (PlannerSettings(use_solver=False), PlannerSettings(solver=FAST)):
        result = plan(problem, settings)
        assert validate(problem, result) == []
        starts = sorted(a.setup_start for a in result.assignments)
        monday = [s for s in starts if s.date() == datetime(2026, 3, 30).date()]
        assert monday[0] == datetime(2026, 3, 30, 4, 0, tzinfo=UTC)
        saturday_close = datetime(2026, 3, 28, 13, 0, tzinfo=UTC)  # 14:00 CET
        assert not any(saturday_close <= s < monday[0] for s in starts)
