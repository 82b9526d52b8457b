"""The entry point: `plan(problem, settings, previous)` -> `Plan`.

The dispatch rules always run first: the best rule's plan bounds the solver's horizon, warm
starts it (or, with a previous plan, the previous sequence repaired by the list scheduler
does), and is the answer when the solver finds nothing in time or nothing better.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from mes.scheduling.cpsat import SolverSettings, solve
from mes.scheduling.dispatch import Key, Priority, Rule, best_rule, dispatch
from mes.scheduling.instance import Instance, Job, build
from mes.scheduling.model import Problem
from mes.scheduling.plan import Plan
from mes.scheduling.result import Schedule, Slot, score, to_plan


@dataclass(frozen=True, slots=True)
class PlannerSettings:
    resolution_s: int = 60  # one time unit of the model
    # solver.time_limit_s bounds the whole planning call (rules included)
    solver: SolverSettings = field(default_factory=SolverSettings)
    rules: tuple[Rule, ...] = tuple(Rule)
    use_solver: bool = True


def plan(
    problem: Problem, settings: PlannerSettings | None = None, previous: Plan | None = None
) -> Plan:
    settings = settings or PlannerSettings()
    began = time.monotonic()
    inst = build(problem, resolution_s=settings.resolution_s)
    if not inst.jobs:
        return to_plan(inst, {}, method="none", note="nothing to plan")
    rule, rule_schedule, _ = best_rule(inst, settings.rules)
    if not settings.use_solver:
        return to_plan(inst, rule_schedule, method=f"rule:{rule}")
    prev = _previous_schedule(inst, previous) if previous is not None else None
    start_from = rule_schedule
    if prev:
        repaired = dispatch(inst, _follow(prev))
        if score(inst, repaired) <= score(inst, rule_schedule):
            start_from = repaired
    span = max(s.end for s in start_from.values())
    horizon = min(inst.horizon, span + span // 2 + 1)
    # CP-SAT may overrun its limit a little (presolve is not interrupted at once): keep 8 %
    left = settings.solver.time_limit_s * 0.92 - (time.monotonic() - began)
    outcome = solve(
        inst,
        replace(settings.solver, time_limit_s=left),
        horizon=horizon,
        start_from=start_from,
        previous=prev,
    )
    if outcome.schedule is None:
        return to_plan(
            inst,
            start_from,
            method=f"rule:{rule}",
            fallback=True,
            note=f"CP-SAT found no plan within {settings.solver.time_limit_s:g} s"
            f" ({outcome.status}); the best dispatch rule's plan ({rule}) is used",
            solver_status=outcome.status,
        )
    if score(inst, outcome.schedule) > score(inst, rule_schedule):
        return to_plan(
            inst,
            rule_schedule,
            method=f"rule:{rule}",
            fallback=True,
            note=f"CP-SAT's plan was worse than rule {rule}'s within the time limit; the rule's"
            " plan is used",
            solver_status=outcome.status,
        )
    return to_plan(inst, outcome.schedule, method="cp-sat", solver_status=outcome.status)


def _previous_schedule(inst: Instance, previous: Plan) -> Schedule:
    """The previous plan's slots of the operations still to plan, in units."""
    by_ref = {(a.order, a.operation): a for a in previous.assignments}
    out: Schedule = {}
    for job in inst.jobs:
        a = by_ref.get((job.ref.order, job.ref.operation))
        if a is None or a.workstation not in job.modes:
            continue
        setup_start = max(inst.units(a.setup_start, up=False), 0)
        run = job.modes[a.workstation]
        start = max(inst.units(a.start, up=False), setup_start)
        out[job.index] = Slot(a.workstation, setup_start, start, start + run)
    return out


def _follow(prev: Schedule) -> Priority:
    """A priority that replays the previous plan's order; new operations come last."""

    def priority(job: Job, slot: Slot, remaining: dict[int, int], mean_p: float) -> Key:
        p = prev.get(job.index)
        return (0, p.setup_start, job.index) if p is not None else (1, slot.setup_start, job.index)

    return priority
