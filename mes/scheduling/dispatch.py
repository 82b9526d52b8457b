"""Dispatch rules and the list scheduler that applies them: the solver's fallback and baseline.

The scheduler honours the same constraints as the solver (open windows, sequence-dependent
setups, precedence with waits, release dates, materials, held slots). At each step it takes the
ready operations (all predecessors placed), places each where it finishes earliest, and among
those that could start before the earliest finish (Giffler and Thompson's conflict set) lets
the rule choose.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mes.scheduling.instance import Instance, Job
from mes.scheduling.result import Schedule, Slot, score


class Rule(StrEnum):
    FIFO = "FIFO"  # first released first
    EDD = "EDD"  # earliest due date
    SPT = "SPT"  # shortest processing time
    CR = "CR"  # critical ratio: time to due / work remaining
    ATC = "ATC"  # apparent tardiness cost


Key = tuple[Any, ...]  # a priority: the lowest goes first


class Unschedulable(RuntimeError):
    pass


@dataclass(slots=True)
class _Busy:
    setup_start: int
    end: int
    family: str | None
    fixed: bool


class _Material:
    """Supply minus committed consumption, as a step function of time."""

    def __init__(self, supply: list[tuple[int, int]]) -> None:
        self.events: list[tuple[int, int]] = list(supply)
        self._steps: tuple[list[int], list[int]] | None = None

    def consume(self, at: int, qty: int) -> None:
        bisect.insort(self.events, (at, -qty))
        self._steps = None

    def _suffix_minima(self) -> tuple[list[int], list[int]]:
        """(change times, lowest level from each change on)."""
        if self._steps is None:
            times: list[int] = []
            levels: list[int] = []
            level = 0
            for at, q in self.events:
                level += q
                if times and times[-1] == at:
                    levels[-1] = level
                else:
                    times.append(at)
                    levels.append(level)
            suffix = [0] * len(levels)
            low = math.inf
            for i in range(len(levels) - 1, -1, -1):
                low = min(low, levels[i])
                suffix[i] = int(low)
            self._steps = (times, suffix)
        return self._steps

    def earliest(self, t: int, qty: int) -> int | None:
        times, suffix = self._suffix_minima()
        i = bisect.bisect_right(times, t) - 1
        if i >= 0 and suffix[i] >= qty:
            return t
        for k in range(i + 1, len(times)):
            if suffix[k] >= qty:
                return times[k]
        return None


class ListScheduler:
    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.timeline: dict[str, list[_Busy]] = {m.id: [] for m in inst.machines}
        self.materials = {m: _Material(ev) for m, ev in inst.supply.items()}
        self.schedule: Schedule = {}
        self._gaps: dict[str, list[tuple[int, str | None, int | None]]] = {}
        self._initial = {m.id: m.initial_family for m in inst.machines}
        for job in inst.jobs:
            if job.fixed is not None:
                f = job.fixed
                self._commit(job, Slot(f.machine, f.setup_start, f.start, f.end), fixed=True)

    def _commit(self, job: Job, slot: Slot, *, fixed: bool = False) -> None:
        self.schedule[job.index] = slot
        self._gaps.pop(slot.machine, None)
        bisect.insort(
            self.timeline[slot.machine],
            _Busy(slot.setup_start, slot.end, job.family, fixed),
            key=lambda b: b.setup_start,
        )
        for mat, qty in job.materials:
            self.materials[mat].consume(slot.setup_start, qty)

    def ready_time(self, job: Job) -> int:
        t = max(job.release, 0)
        for p, wait in job.preds:
            t = max(t, self.schedule[p].end + wait)
        return t

    def _material_time(self, job: Job, t: int) -> int | None:
        for _ in range(100):
            moved = t
            for mat, qty in job.materials:
                at = self.materials[mat].earliest(moved, qty)
                if at is None:
                    return None
                moved = max(moved, at)
            if moved == t:
                return t
            t = moved
        return t

    def place(self, job: Job) -> Slot | None:
        """Where `job` finishes earliest (ties: the listed workstation order)."""
        best: Slot | None = None
        ready = self.ready_time(job)
        for machine, run in job.modes.items():
            slot = self._place_on(job, machine, run, ready)
            if slot is not None and (best is None or slot.end < best.end):
                best = slot
        return best

    def _free(self, machine: str) -> list[tuple[int, str | None, int | None]]:
        """(free from, family before, free until or None) stretches where a job may go: the
        gaps before held slots and the end of the sequence."""
        gaps = self._gaps.get(machine)
        if gaps is None:
            prev_end, prev_family = 0, self._initial[machine]
            gaps = []
            for b in self.timeline[machine]:
                if b.fixed and b.setup_start > prev_end:
                    gaps.append((prev_end, prev_family, b.setup_start))
                prev_end, prev_family = max(prev_end, b.end), b.family
            gaps.append((prev_end, prev_family, None))
            self._gaps[machine] = gaps
        return gaps

    def _place_on(self, job: Job, machine: str, run: int, ready: int) -> Slot | None:
        inst = self.inst
        for free_from, family, limit in self._free(machine):
            setup = inst.setup(family, job.family)
            t = max(ready, free_from)
            while True:
                s = inst.fit(machine, t, setup + run)
                if s is None or (limit is not None and s + setup + run > limit):
                    break
                m = self._material_time(job, s)
                if m is None:
                    return None
                if m == s:
                    return Slot(machine, s, s + setup, s + setup + run)
                t = m
        return None


def _priority(
    rule: Rule, inst: Instance, job: Job, slot: Slot, remaining: dict[int, int], mean_p: float
) -> Key:
    info = inst.orders[job.order]
    order = info.order
    p = min(job.modes.values())
    tie = (order.release.timestamp(), order.id, job.index)
    if rule is Rule.FIFO:
        return tie
    if rule is Rule.EDD:
        return (info.due, *tie)
    if rule is Rule.SPT:
        return (p, *tie)
    t = slot.setup_start
    if rule is Rule.CR:
        work = max(remaining[job.order], 1)
        return ((info.due - t) / work, *tie)
    # ATC: largest index first; due date of the operation = order due - work after it
    slack = info.due - remaining[job.order] - t
    index = (order.weight / max(p, 1)) * math.exp(-max(0, slack) / (2.0 * max(mean_p, 1.0)))
    return (-index, *tie)


Priority = Callable[[Job, Slot, dict[int, int], float], Key]


def dispatch(inst: Instance, rule: Rule | Priority) -> Schedule:
    """The list schedule under `rule` (or any priority function: lowest first)."""
    sched = ListScheduler(inst)
    jobs = inst.jobs
    waiting = {j.index: sum(1 for p, _ in j.preds) for j in jobs}
    remaining = {i: 0 for i in range(len(inst.orders))}
    for job in jobs:
        if job.fixed is None:
            remaining[job.order] += min(job.modes.values())
    ready: set[int] = set()
    for job in jobs:
        if job.fixed is not None:
            for s in job.succs:
                waiting[s] -= 1
    for job in jobs:
        if job.fixed is None and waiting[job.index] == 0:
            ready.add(job.index)
    cache: dict[int, Slot | None] = {}
    while ready:
        for i in ready:
            if i not in cache:
                cache[i] = sched.place(jobs[i])
        placed = {i: s for i, s in cache.items() if i in ready and s is not None}
        if not placed:
            names = ", ".join(f"{jobs[i].ref.order}/{jobs[i].ref.operation}" for i in ready)
            raise Unschedulable(f"no placement for {names}")
        c_star = min(s.end for s in placed.values())
        conflict = [i for i, s in placed.items() if s.setup_start < c_star]
        mean_p = sum(min(jobs[i].modes.values()) for i in conflict) / len(conflict)
        pick = min(
            conflict,
            key=lambda i: (
                _priority(rule, inst, jobs[i], placed[i], remaining, mean_p)
                if isinstance(rule, Rule)
                else rule(jobs[i], placed[i], remaining, mean_p)
            ),
        )
        job, slot = jobs[pick], placed[pick]
        sched._commit(job, slot)
        ready.discard(pick)
        remaining[job.order] -= min(job.modes.values())
        mats = {m for m, _ in job.materials}
        for i in list(cache):
            other = jobs[i]
            if slot.machine in other.modes or any(m in mats for m, _ in other.materials):
                del cache[i]
        for s in job.succs:
            waiting[s] -= 1
            if waiting[s] == 0 and jobs[s].fixed is None:
                ready.add(s)
    return sched.schedule


def best_rule(
    inst: Instance,
    rules: tuple[Rule, ...] = tuple(Rule),
    rank: Callable[[Schedule], tuple[int, ...]] | None = None,
) -> tuple[Rule, Schedule, dict[Rule, tuple[int, ...]]]:
    """Every rule's schedule; the best by `rank` (default: weighted tardiness, setups,
    makespan)."""
    ranked = rank or (lambda schedule: score(inst, schedule))
    results: dict[Rule, tuple[Schedule, tuple[int, ...]]] = {}
    for rule in rules:
        schedule = dispatch(inst, rule)
        results[rule] = (schedule, ranked(schedule))
    key: Callable[[Rule], tuple[int, ...]] = lambda r: results[r][1]  # noqa: E731
    best = min(results, key=key)
    return best, results[best][0], {r: v[1] for r, v in results.items()}
