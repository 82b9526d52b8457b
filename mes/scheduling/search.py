"""A fast search over the list scheduler before the solver: the warm start on congested floors.

First a small grid of apparent-tardiness-cost-with-setups priorities (ATCS: ATC's look-ahead
`k` and a setup look-ahead `k_setup`), then a local search over order priorities: an order is
raised or lowered a step, or given up (planned after every other ready operation, which frees
its machines for orders that can still be on time). A move is kept when the planner's ranking
(first objective: weighted tardiness plus a cost per late order) is no worse. Each evaluation
is one list schedule (a few ms per hundred operations), so the search stops after a fixed
number of evaluations (same input and seed, same plan) or when its share of the time limit
is spent, whichever comes first.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from mes.scheduling.dispatch import Key, Priority, Unschedulable, dispatch
from mes.scheduling.instance import Instance, Job
from mes.scheduling.result import Schedule, Slot, late_orders

GIVEN_UP = -10  # an order's step at which it goes after every other ready operation
# (k, k_setup): ATC's look-ahead in mean processing times; the setup look-ahead in mean setups
GRID: tuple[tuple[float, float], ...] = (
    (1.0, 1.0),
    (2.0, 0.5),
    (2.0, 1.0),
    (3.0, 0.5),
    (3.0, 1.0),
    (5.0, 0.5),
    (5.0, 2.0),
    (8.0, 1.0),
    (8.0, 2.0),
)


@dataclass(frozen=True, slots=True)
class SearchSettings:
    share: float = 0.7  # of the planning time limit, at most
    evaluations: int = 150  # list schedules, at most (the grid included)


Rank = Callable[[Schedule], tuple[int, ...]]


def atcs(inst: Instance, k: float, k_setup: float, steps: dict[int, int] | None = None) -> Priority:
    """ATC with setups: weight / run time, discounted by the slack of the order (in `k` mean
    run times of the competing operations) and by the setup this placement needs (in `k_setup`
    mean setups of the plant); each step of an order doubles (or halves) its index."""
    steps = steps or {}
    setups = [u for u in inst.setup_units.values() if u > 0]
    mean_setup = max(sum(setups) / len(setups), 1.0) if setups else 1.0

    def priority(job: Job, slot: Slot, remaining: dict[int, int], mean_p: float) -> Key:
        info = inst.orders[job.order]
        p = min(job.modes.values())
        slack = info.due - remaining[job.order] - slot.setup_start
        index = (info.order.weight / max(p, 1)) * math.exp(-max(0, slack) / (k * max(mean_p, 1.0)))
        index *= math.exp(-(slot.start - slot.setup_start) / (k_setup * mean_setup))
        step = steps.get(job.order, 0)
        return (step <= GIVEN_UP, -index * 2.0**step, job.index)

    return priority


def improve(
    inst: Instance, start: Schedule, rank: Rank, *, seconds: float, evaluations: int, seed: int
) -> tuple[Schedule, str]:
    """The best schedule found from `start` within the budget, and what found it."""
    t0 = time.monotonic()
    best, best_rank, found = start, rank(start), ""

    def spent(n: int) -> bool:
        return n >= evaluations or time.monotonic() - t0 >= seconds

    def attempt(priority: Priority) -> Schedule | None:
        try:
            return dispatch(inst, priority)
        except Unschedulable:
            return None

    n = 0
    base: tuple[tuple[int, ...], float, float] | None = None  # the best ATCS: (rank, k, k_setup)
    for gk, gs in GRID:
        if spent(n):
            return best, found
        n += 1
        cand = attempt(atcs(inst, gk, gs))
        if cand is None:
            continue
        r = rank(cand)
        if base is None or r < base[0]:
            base = (r, gk, gs)
        if r < best_rank:
            best, best_rank, found = cand, r, f"ATCS k={gk:g}/{gs:g}"
    if base is None:
        return best, found
    current, k, k_setup = base
    rng = random.Random(seed)
    steps: dict[int, int] = {}
    late = late_orders(inst, best)
    while not spent(n):
        n += 1
        order = rng.choice(late) if late and rng.random() < 0.7 else rng.randrange(len(inst.orders))
        now = steps.get(order, 0)
        delta = rng.choice([GIVEN_UP, -1, 1, 2])
        trial = dict(steps)
        trial[order] = GIVEN_UP if delta == GIVEN_UP else max(now, -3) + delta
        cand = attempt(atcs(inst, k, k_setup, trial))
        if cand is None:
            continue
        r = rank(cand)
        if r <= current:
            current, steps, late = r, trial, late_orders(inst, cand)
            if r < best_rank:
                best, best_rank = cand, r
                found = f"ATCS k={k:g}/{k_setup:g} with order priorities"
    return best, found


# -- a replan's search: the previous plan's sequence, orders shifted ---------------------------

STEPS_S = (3600, 4 * 3600, 16 * 3600)  # how far a move shifts an order in the sequence
STAY_S = 4 * 3600  # the head start of an operation that can keep its slot (`following`)


@dataclass(frozen=True, slots=True)
class Moves:
    """A replan's search state: per order, how far it moves earlier in the previous plan's
    sequence (units; new orders start at `last`, after everything), and the orders whose
    operations may change workstation. Orders not in `shifts` or `free` keep their
    workstations and start no earlier than before (the previous plan shifted right)."""

    shifts: dict[int, int]
    free: frozenset[int] = frozenset()
    stay: int = 0  # how much earlier an operation that can keep its old slot goes (units)
    floors: bool = True  # orders left alone start no earlier than before


def following(prev: Schedule, shifts: dict[int, int], stay: int = 0) -> Priority:
    """The previous plan's order (an operation it planned goes at its old setup start, a new
    one at the earliest it can start), each order moved earlier by its shift (in units); an
    operation that can still take its old slot goes `stay` units earlier still (so one that
    must move anyway waits behind it rather than pushing it along)."""

    def priority(job: Job, slot: Slot, remaining: dict[int, int], mean_p: float) -> Key:
        p = prev.get(job.index)
        at = p.setup_start if p is not None else slot.setup_start
        if p is not None and (p.machine, p.setup_start) == (slot.machine, slot.setup_start):
            at -= stay
        return (at - shifts.get(job.order, 0), job.index)

    return priority


def repaired(inst: Instance, prev: Schedule, moves: Moves) -> Instance:
    """`inst` for the previous plan under `moves`: each operation of an order left alone keeps
    its workstation (while it may still run there) and, with `floors`, starts no earlier than
    before; a shifted order's keep their workstations; a freed order's may change
    workstation."""
    jobs = []
    for job in inst.jobs:
        p = prev.get(job.index)
        if p is not None and job.fixed is None and p.machine in job.modes:
            if job.order not in moves.free:
                job = replace(job, modes={p.machine: job.modes[p.machine]})
            if moves.floors and job.order not in moves.free and job.order not in moves.shifts:
                job = replace(job, release=max(job.release, p.setup_start))
        jobs.append(job)
    return replace(inst, jobs=jobs)


def reinsert(
    inst: Instance,
    prev: Schedule,
    start: Schedule,
    rank: Rank,
    *,
    seconds: float,
    evaluations: int,
    seed: int,
) -> tuple[Schedule, str]:
    """A replan's search: from the previous plan shifted right (new orders after it), a local
    search that moves an order earlier or later in that sequence or frees its operations to
    change workstation. Late orders are the ones moved earlier or freed; any order may be moved
    later. A move is kept when the planner's ranking (the first objective, then the operations
    moved) is no worse."""
    t0 = time.monotonic()
    last = inst.horizon + 1
    new = {job.order for job in inst.jobs if job.fixed is None and job.index not in prev}
    best, best_rank, found = start, rank(start), ""
    n = 0

    def spent() -> bool:
        return n >= evaluations or time.monotonic() - t0 >= seconds

    def attempt(moves: Moves) -> Schedule | None:
        try:
            return dispatch(repaired(inst, prev, moves), following(prev, moves.shifts, moves.stay))
        except Unschedulable:
            return None

    current: tuple[int, ...] | None = None
    late: dict[int, int] = {}
    state = Moves({})
    for stay, floors in itertools.product((0, max(round(STAY_S / inst.unit_s), 1)), (True, False)):
        if spent():
            return best, found
        n += 1
        trial = Moves({k: -last for k in new}, stay=stay, floors=floors)
        cand = attempt(trial)
        if cand is None:
            continue
        r = rank(cand)
        if current is None or r < current:
            current, state, late = r, trial, _weighted_lateness(inst, cand)
        if r < best_rank:
            best, best_rank, found = cand, r, "previous sequence"
    if current is None:
        return best, found
    rng = random.Random(seed)
    steps = [max(round(s / inst.unit_s), 1) for s in STEPS_S]
    while not spent():
        n += 1
        shifts, free = dict(state.shifts), state.free
        move = rng.random()
        if late and move < 0.75:
            order = rng.choices(list(late), weights=list(late.values()))[0]
            now = shifts.get(order, 0)
            if move < 0.55 or order in free:
                # an order after everything goes in near the earliest it can start
                step = rng.choice(steps)
                shifts[order] = -rng.choice([0, step]) if now <= -last else now + step
            else:
                free = free | {order}
        else:
            order = rng.randrange(len(inst.orders))
            now = shifts.get(order, 0)
            if now <= -last:
                continue
            shifts[order] = now - rng.choice(steps)
        trial = Moves(shifts, free, state.stay, state.floors)
        cand = attempt(trial)
        if cand is None:
            continue
        r = rank(cand)
        if r <= current:
            current, state, late = r, trial, _weighted_lateness(inst, cand)
            if r < best_rank:
                best, best_rank = cand, r
                found = "previous sequence, orders moved"
    return best, found


def _weighted_lateness(inst: Instance, schedule: Schedule) -> dict[int, int]:
    """The late orders (indexes) and their weighted tardiness plus their weight (so an order
    just late still counts): the search moves the costliest ones most often."""
    out = {}
    for k in late_orders(inst, schedule):
        info = inst.orders[k]
        late = max(schedule[j].end for j in info.jobs) - info.due
        out[k] = round(info.order.weight * 100) * (late + 60)
    return out
