"""The entry point: `plan(problem, settings, previous)` -> `Plan`.

The dispatch rules always run first; the search (`search.py`) then improves on the best of
them (on a replan with `replan_search`, `reinsert`: on the better of them and the previous
plan's repaired sequence, by moving orders in that sequence). The best
plan so far bounds the solver's horizon, warm starts it, and is the answer when the solver
finds nothing in time or nothing better. Every plan is ranked by the same first objective:
weighted tardiness plus `late_order_cost_s` per late order at its weight; on a replan plus
`promise_cost_s` per promised order (on time in the previous plan) now late and
`move_cost_s` per operation moved to another workstation or a later start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial

from mes.scheduling.cpsat import SolverSettings, solve
from mes.scheduling.dispatch import Key, Priority, Rule, Unschedulable, best_rule, dispatch
from mes.scheduling.instance import Instance, Job, build
from mes.scheduling.model import Problem
from mes.scheduling.plan import Plan
from mes.scheduling.result import (
    Schedule,
    Slot,
    cost,
    promised_orders,
    score,
    to_plan,
    weight_int,
)
from mes.scheduling.search import SearchSettings, improve, reinsert


@dataclass(frozen=True, slots=True)
class PlannerSettings:
    resolution_s: int = 60  # one time unit of the model
    # solver.time_limit_s bounds the whole planning call (rules included)
    solver: SolverSettings = field(default_factory=SolverSettings)
    rules: tuple[Rule, ...] = tuple(Rule)
    use_solver: bool = True
    # a late order costs as much as this much tardiness at its weight (0: weighted tardiness
    # alone ranks plans): the planner then keeps more orders on time on a congested floor
    late_order_cost_s: float = 8 * 3600.0
    # on a replan, an order the previous plan had on time costs this much more when it is late
    # (a broken promise, at its weight): a replan serves a rush order in the slack of the
    # others, not by making them late (0: no such cost)
    promise_cost_s: float = 14 * 24 * 3600.0
    # a promised order is held to its due date less this much (or to its previous finish when
    # that is later), so a rush order does not eat all the slack the next breakdown needs (off:
    # in the simulated execution 4 h kept fewer orders on time, not more)
    promise_margin_s: float = 0.0
    # on a replan, each operation of the previous plan moved to another workstation or to a
    # later start costs this much tardiness at weight 1: a small gain does not reshuffle the
    # floor (0: moves only break ties). Starting earlier on the same workstation costs nothing
    # here; any move at all ranks right after the first objective
    move_cost_s: float = 7200.0
    # the order-priority search before the solver; None: rules, then the solver
    search: SearchSettings | None = field(default_factory=SearchSettings)
    # a replan searches too (`search.reinsert`, from the previous plan's sequence)
    replan_search: bool = True


def plan(
    problem: Problem, settings: PlannerSettings | None = None, previous: Plan | None = None
) -> Plan:
    settings = settings or PlannerSettings()
    began = time.monotonic()
    inst = build(problem, resolution_s=settings.resolution_s)
    if not inst.jobs:
        return to_plan(inst, {}, method="none", note="nothing to plan")
    late_units = round(settings.late_order_cost_s / inst.unit_s)
    prev = _previous_schedule(inst, previous) if previous is not None else None
    margin = round(settings.promise_margin_s / inst.unit_s)
    promised = promised_orders(inst, prev, margin) if prev else {}
    promise_units = round(settings.promise_cost_s / inst.unit_s)
    move_units = round(settings.move_cost_s / inst.unit_s) * weight_int(1.0)

    def rank(schedule: Schedule) -> tuple[int, ...]:
        """The score; with a previous plan the operations moved count in the first objective
        and rank again right after it."""
        _, setups, makespan = score(inst, schedule)
        first = cost(inst, schedule, late_units, promised, promise_units)
        if not prev:
            return (first, setups, makespan)
        return (
            first + move_units * _moved(schedule, prev, later_only=True),
            _moved(schedule, prev),
            setups,
            makespan,
        )

    rule, rule_schedule, _ = best_rule(
        inst, settings.rules, lambda s: rank(s)[:1] + score(inst, s)[1:]
    )
    if not settings.use_solver:
        return to_plan(inst, rule_schedule, method=f"rule:{rule}")

    start_from, source, label = rule_schedule, f"rule:{rule}", f"the best dispatch rule's ({rule})"
    if prev:
        for repaired in (dispatch(inst, _follow(prev)), _right_shifted(inst, prev)):
            if repaired is not None and rank(repaired) <= rank(start_from):
                start_from, source, label = repaired, "previous", "the previous plan's sequence"
    if settings.search is not None and (prev is None or settings.replan_search):
        # a replan searches too (its rank puts moved operations right after the first
        # objective, so the search's plan wins only when it is better than the repaired one)
        budget = settings.solver.time_limit_s * settings.search.share
        # a replan searches from the previous sequence; a fresh plan from the rules' best
        search = partial(reinsert, inst, prev) if prev else partial(improve, inst)
        found, how = search(
            start_from,
            rank,
            seconds=budget - (time.monotonic() - began),
            evaluations=settings.search.evaluations,
            seed=settings.solver.seed,
        )
        if how:
            start_from, source, label = found, f"search:{how}", f"the search's ({how})"
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
        late_order_units=late_units,
        promised=promised,
        promise_units=promise_units,
        move_units=move_units,
    )
    if outcome.schedule is None:
        return to_plan(
            inst,
            start_from,
            method=source,
            fallback=True,
            note=f"CP-SAT found no plan within {settings.solver.time_limit_s:g} s"
            f" ({outcome.status}); {label} plan is used",
            solver_status=outcome.status,
        )
    solved = _compacted(inst, outcome.schedule, rank)
    if rank(solved) > rank(start_from):
        return to_plan(
            inst,
            start_from,
            method=source,
            fallback=True,
            note=f"CP-SAT's plan was worse than {label} within the time limit; that plan is used",
            solver_status=outcome.status,
        )
    return to_plan(
        inst,
        solved,
        method="cp-sat",
        note=f"warm-started from {label} plan",
        solver_status=outcome.status,
    )


def _right_shifted(inst: Instance, prev: Schedule) -> Schedule | None:
    """The previous plan repaired by moving operations only later and only where they must:
    each keeps its workstation (while it may still run there) and starts no earlier than
    before, in the previous order. None when that cannot be placed."""
    jobs = []
    for job in inst.jobs:
        p = prev.get(job.index)
        if p is not None and job.fixed is None and p.machine in job.modes:
            job = replace(
                job,
                modes={p.machine: job.modes[p.machine]},
                release=max(job.release, p.setup_start),
                succs=[],
            )
        else:
            job = replace(job, succs=[])
        jobs.append(job)
    for job in jobs:
        for q, _ in job.preds:
            jobs[q].succs.append(job.index)
    try:
        return dispatch(replace(inst, jobs=jobs), _follow(prev))
    except Unschedulable:
        return None


def _moved(schedule: Schedule, prev: Schedule | None, *, later_only: bool = False) -> int:
    """Operations of the previous plan on another workstation or with another setup start
    (`later_only`: a later one)."""
    if not prev:
        return 0
    return sum(
        1
        for i, p in prev.items()
        if (s := schedule.get(i)) is None
        or s.machine != p.machine
        or (s.setup_start > p.setup_start if later_only else s.setup_start != p.setup_start)
    )


def _compacted(
    inst: Instance, schedule: Schedule, rank: Callable[[Schedule], tuple[int, ...]]
) -> Schedule:
    """The solver's sequence with every operation as early as it can go, when that ranks at
    least as well: a solve cut short leaves idle time nothing pushed out, and a replan of a
    compact plan replays it unchanged (so it moves nothing it need not)."""
    compact = dispatch(inst, _follow(schedule))
    return compact if rank(compact) <= rank(schedule) else schedule


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
