"""Fallback, determinism, dispatch rule orderings, and the package's purity."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from mes.scheduling import (
    PlannerSettings,
    Problem,
    Rule,
    SolverSettings,
    plan,
)
from tests.scheduling.instances import random_problem, single_machine
from tests.scheduling.validator import validate


def test_no_solution_in_time_falls_back_to_the_best_rule_and_says_so() -> None:
    problem = random_problem(3, orders=12)
    result = plan(problem, PlannerSettings(solver=SolverSettings(time_limit_s=0.0)))
    assert result.fallback
    assert result.method.startswith("rule:")
    assert "best dispatch rule" in result.note
    assert validate(problem, result) == []
    rules = {r: plan(problem, PlannerSettings(rules=(r,), use_solver=False)) for r in Rule}
    assert result.weighted_tardiness == min(p.weighted_tardiness for p in rules.values())


def test_deterministic_with_fixed_seed_workers_and_deterministic_time() -> None:
    problem = random_problem(4, orders=10)
    settings = PlannerSettings(
        solver=SolverSettings(time_limit_s=120.0, workers=2, seed=7, deterministic_time=0.5)
    )
    a, b = plan(problem, settings), plan(problem, settings)
    assert a.method == b.method == "cp-sat"
    assert a.assignments == b.assignments


def sequence(problem: Problem, rule: Rule) -> list[str]:
    result = plan(problem, PlannerSettings(rules=(rule,), use_solver=False))
    assert validate(problem, result) == []
    return [a.order for a in sorted(result.assignments, key=lambda a: a.setup_start)]


def test_rules_order_as_named() -> None:
    # everything released by minute 2, so the rules decide the order (not the releases)
    problem = single_machine(
        ("late-due-short", 30, 1, 900),
        ("early-due-long", 120, 2, 100),
        ("mid-due-mid", 60, 0, 300),
    )
    assert sequence(problem, Rule.EDD) == ["early-due-long", "mid-due-mid", "late-due-short"]
    assert sequence(problem, Rule.FIFO) == ["mid-due-mid", "late-due-short", "early-due-long"]
    assert sequence(problem, Rule.SPT) == ["late-due-short", "mid-due-mid", "early-due-long"]


def test_edd_and_spt_when_all_released_together() -> None:
    problem = single_machine(("a", 90, 0, 500), ("b", 30, 0, 900), ("c", 60, 0, 100))
    assert sequence(problem, Rule.EDD) == ["c", "a", "b"]
    assert sequence(problem, Rule.SPT) == ["b", "c", "a"]
    assert sequence(problem, Rule.CR)[0] == "c"
    assert sequence(problem, Rule.ATC)[0] == "c"


def test_weights_shift_the_solver_towards_the_important_order() -> None:
    problem = single_machine(("a", 60, 0, 10), ("b", 60, 0, 10))
    heavy = dataclasses.replace(
        problem, orders=(problem.orders[0], dataclasses.replace(problem.orders[1], weight=10))
    )
    result = plan(heavy, PlannerSettings(solver=SolverSettings(time_limit_s=5.0)))
    first = min(result.assignments, key=lambda a: a.setup_start)
    assert first.order == "b"


def test_package_imports_nothing_of_mes_but_the_calendar() -> None:
    # read as text: ast.parse here can hit CPython 3.11's "AST constructor recursion depth
    # mismatch" after another test in the process overflowed the recursion limit
    root = Path(__file__).resolve().parents[2] / "mes" / "scheduling"
    imports = re.compile(r"^\s*(?:from|import)\s+(mes(?:\.\w+)*)", re.MULTILINE)
    seen = 0
    for path in root.glob("*.py"):
        for name in imports.findall(path.read_text()):
            seen += 1
            assert name.startswith("mes.scheduling") or name == "mes.performance.calendar", (
                f"{path.name} imports {name}"
            )
    assert seen > 0
