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

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

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
