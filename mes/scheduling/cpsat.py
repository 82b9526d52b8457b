"""The CP-SAT model of an `Instance` and its lexicographic solve.

Per operation: a start and an end, and one optional interval per eligible workstation whose
size is that workstation's setup (decided by the sequence) plus its run time. Per workstation:
no-overlap of those intervals with fixed intervals over its closed time (so an operation, setup
included, runs inside one open stretch), and a circuit over its operations that fixes each
setup from the family run before. Precedence with waits, release dates, and one reservoir per
material (supply events up, consumption at an operation's start down, never below zero).

Objectives, one stage after another, each stage keeping the previous optimum as a bound:
weighted tardiness (plus a cost per late order, `late_order_units`, and on a replan per broken
promise, `promise_units`), (with a previous plan)
the number of operations that moved, total setup time, makespan.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from mes.scheduling.instance import Instance
from mes.scheduling.plan import Pin
from mes.scheduling.result import Schedule, Slot, weight_int


@dataclass(frozen=True, slots=True)
class SolverSettings:
    """`time_limit_s` caps the wall time of the whole solve. With `deterministic_time` set,
    each stage stops on CP-SAT's deterministic time instead, so the same input, seed and
    workers give the same plan (as long as the wall cap is not what stops it)."""

    time_limit_s: float = 10.0
    workers: int = 2
    seed: int = 0
    deterministic_time: float | None = None
    stage_shares: tuple[float, ...] = (0.8, 0.1, 0.05, 0.05)
    log: bool = False
    neighbours: int = 12  # successions modelled per operation on busy workstations (0: all)
    probing_level: int = 0  # presolve probing; the default (2) can eat the whole time limit
    linearization_level: int = 1  # CP-SAT's default; 0 skips the LP relaxation
    repair_hint: bool = False  # let CP-SAT repair an infeasible hint (costs time)


@dataclass(slots=True)
class SolveOutcome:
    schedule: Schedule | None
    status: str
    stages: list[str] = field(default_factory=list)
    wall_s: float = 0.0


@dataclass(slots=True)
class _OpVars:
    start: cp_model.IntVar
    end: cp_model.IntVar
    present: dict[str, cp_model.IntVar | int]
    setup: dict[str, cp_model.IntVar | int]


class _Model:
    def __init__(
        self,
        inst: Instance,
        horizon: int,
        around: Schedule | None = None,
        neighbours: int = 0,
        late_order_units: int = 0,
        promised: Mapping[int, int] | None = None,
        promise_units: int = 0,
    ) -> None:
        self.late_order_units = late_order_units
        self.promised = promised or {}
        self.promise_units = promise_units
        self.around = around
        self.neighbours = neighbours
        self.inst = inst
        self.m = cp_model.CpModel()
        self.ops: dict[int, _OpVars] = {}
        # per workstation: arc literal by (from job, to job), -1 the start/end of the sequence
        self.arcs: dict[str, dict[tuple[int, int], cp_model.IntVar]] = {}
        self.horizon = horizon
        self._build()

    def _build(self) -> None:
        inst, m, h = self.inst, self.m, self.horizon
        per_machine: dict[str, list[int]] = {w.id: [] for w in inst.machines}
        for job in inst.jobs:
            f = job.fixed
            if f is not None:
                start = m.new_constant(f.setup_start)
                end = m.new_constant(f.end)
                self.ops[job.index] = _OpVars(
                    start, end, {f.machine: 1}, {f.machine: f.start - f.setup_start}
                )
                per_machine[f.machine].append(job.index)
                continue
            lo = job.release
            start = m.new_int_var(lo, h, f"s{job.index}")
            end = m.new_int_var(lo, h, f"e{job.index}")
            present: dict[str, cp_model.IntVar | int] = {}
            setup: dict[str, cp_model.IntVar | int] = {}
            for machine in job.modes:
                lits = m.new_bool_var(f"p{job.index}_{machine}")
                present[machine] = lits
                max_setup = inst.max_setup_into(job.family)
                setup[machine] = m.new_int_var(0, max_setup, f"su{job.index}_{machine}")
                per_machine[machine].append(job.index)
            m.add_exactly_one([v for v in present.values() if not isinstance(v, int)])
            self.ops[job.index] = _OpVars(start, end, present, setup)
        # intervals, closed time, circuits
        self.setup_terms: list[cp_model.LinearExprT] = []
        for machine, members in per_machine.items():
            intervals = []
            for i in members:
                job, v = self.inst.jobs[i], self.ops[i]
                lit = v.present[machine]
                if job.fixed is not None:
                    f = job.fixed
                    if f.setup_start < f.end:
                        intervals.append(
                            m.new_fixed_size_interval_var(
                                f.setup_start, f.end - f.setup_start, f"fix{i}"
                            )
                        )
                    continue
                run = job.modes[machine]
                su = v.setup[machine]
                assert not isinstance(lit, int)
                intervals.append(
                    m.new_optional_interval_var(v.start, su + run, v.end, lit, f"i{i}_{machine}")
                )
                self.setup_terms.append(su)
            intervals += self._closed(machine, members)
            m.add_no_overlap(intervals)
            self._circuit(machine, members)
        for job in inst.jobs:
            v = self.ops[job.index]
            for p, wait in job.preds:
                m.add(v.start >= self.ops[p].end + wait)
        self._materials()
        # objectives
        self.tardiness = []
        self.late: list[tuple[cp_model.IntVar, int, list[int]]] = []
        # per order with a cost for being late at all: (is late, due, sinks)
        self.is_late: list[tuple[cp_model.IntVar, int, list[int]]] = []
        # per promised order: (promise kept, promised time, sinks)
        self.kept: list[tuple[cp_model.IntVar, int, list[int]]] = []
        for k, info in enumerate(inst.orders):
            if not info.jobs:
                continue
            w = weight_int(info.order.weight)
            per_late = self.late_order_units
            by = self.promised.get(k)
            if by is not None and self.promise_units > 0 and w > 0:
                kept = m.new_bool_var(f"kept{info.order.id}")
                for s in info.sinks:
                    m.add(self.ops[s].end <= by).only_enforce_if(kept)
                self.tardiness.append(w * self.promise_units * (1 - kept))
                self.kept.append((kept, by, info.sinks))
            late = m.new_int_var(0, h + max(0, -info.due), f"late{info.order.id}")
            for s in info.sinks:
                m.add(late >= self.ops[s].end - info.due)
            self.tardiness.append(w * late)
            self.late.append((late, info.due, info.sinks))
            if per_late > 0 and w > 0:
                is_late = m.new_bool_var(f"is_late{info.order.id}")
                for s in info.sinks:
                    m.add(self.ops[s].end <= info.due).only_enforce_if(~is_late)
                self.tardiness.append(w * per_late * is_late)
                self.is_late.append((is_late, info.due, info.sinks))
        self.makespan = m.new_int_var(0, h, "makespan")
        m.add_max_equality(self.makespan, [v.end for v in self.ops.values()])

    def _closed(self, machine: str, members: list[int]) -> list[cp_model.IntervalVar]:
        """Fixed intervals over closed time (a running operation's pauses are its own)."""
        inst = self.inst
        covered = [
            (inst.jobs[i].fixed.setup_start, inst.jobs[i].fixed.end)  # type: ignore[union-attr]
            for i in members
            if inst.jobs[i].fixed is not None
        ]
        out = []
        t = 0
        for a, b in [*inst.windows[machine], (self.horizon + 1, self.horizon + 1)]:
            if a > t:
                lo, hi = t, min(a, self.horizon + 1)
                for c0, c1 in covered:
                    if c0 <= lo < c1:
                        lo = c1
                    if c0 < hi <= c1:
                        hi = c0
                if lo < hi:
                    out.append(
                        self.m.new_fixed_size_interval_var(lo, hi - lo, f"off_{machine}_{lo}")
                    )
            t = max(t, b)
            if t > self.horizon:
                break
        return out

    def _circuit(self, machine: str, members: list[int]) -> None:
        inst, m = self.inst, self.m
        if not members:
            return
        fams = {inst.jobs[i].family for i in members}
        if all(inst.setup(a, b) == 0 for a in [inst.initial_family(machine), *fams] for b in fams):
            return  # no setups here: the no-overlap alone sequences the machine
        arcs: list[tuple[int, int, cp_model.LinearExprT]] = []
        mine = self.arcs.setdefault(machine, {})
        allowed = self._allowed_successions(machine, members)
        initial = inst.initial_family(machine)
        for a, i in enumerate(members, start=1):
            vi = self.ops[i]
            fam_i = inst.jobs[i].family
            lit_i = vi.present[machine]
            if isinstance(lit_i, int):
                pass
            else:
                arcs.append((a, a, ~lit_i))
            first = m.new_bool_var("")
            arcs.append((0, a, first))
            mine[(-1, i)] = first
            fixed_i = inst.jobs[i].fixed
            if fixed_i is None or fixed_i.pin is not Pin.RUNNING:
                self._setup_at_least(vi, machine, inst.setup(initial, fam_i), first)
            last = m.new_bool_var("")
            arcs.append((a, 0, last))
            mine[(i, -1)] = last
            for b, j in enumerate(members, start=1):
                if i == j or (allowed is not None and (i, j) not in allowed):
                    continue
                vj = self.ops[j]
                lit = m.new_bool_var("")
                arcs.append((a, b, lit))
                mine[(i, j)] = lit
                m.add(vj.start >= vi.end).only_enforce_if(lit)
                fixed_j = inst.jobs[j].fixed
                if fixed_j is None or fixed_j.pin is not Pin.RUNNING:
                    self._setup_at_least(vj, machine, inst.setup(fam_i, inst.jobs[j].family), lit)
        empty = m.new_bool_var("")
        arcs.append((0, 0, empty))
        mine[(-1, -1)] = empty
        m.add_circuit(arcs)  # type: ignore[arg-type]

    def _allowed_successions(self, machine: str, members: list[int]) -> set[tuple[int, int]] | None:
        """On a workstation with many candidate operations, only successions between operations
        close in the warm-start plan's time order (and the plan's own successions) are
        modelled: the circuit grows linearly, not quadratically. None: every succession."""
        around, k = self.around, self.neighbours
        if around is None or k <= 0 or len(members) <= 2 * k:
            return None
        ranked = sorted(members, key=lambda i: (around[i].setup_start, i))
        allowed = {
            (a, b)
            for x, a in enumerate(ranked)
            for b in ranked[max(0, x - k) : x + k + 1]
            if a != b
        }
        mine = sorted(
            (i for i in members if around[i].machine == machine),
            key=lambda i: around[i].setup_start,
        )
        allowed |= set(itertools.pairwise(mine))
        return allowed

    def _setup_at_least(self, v: _OpVars, machine: str, units: int, lit: cp_model.IntVar) -> None:
        su = v.setup[machine]
        if isinstance(su, int):
            if su < units:
                self.m.add_bool_or([~lit])
            return
        if units > 0:
            self.m.add(su >= units).only_enforce_if(lit)

    def _materials(self) -> None:
        inst, m = self.inst, self.m
        for material, supply in inst.supply.items():
            times: list[cp_model.LinearExprT] = []
            changes: list[int] = []
            for at, qty in supply:
                times.append(at)
                changes.append(qty)
            users = False
            for job in inst.jobs:
                for mat, qty in job.materials:
                    if mat == material:
                        times.append(self.ops[job.index].start)
                        changes.append(-qty)
                        users = True
            if users:
                m.add_reservoir_constraint(times, changes, 0, sum(q for _, q in supply))

    def hint(self, schedule: Schedule) -> None:
        self.m.clear_hints()
        for i, slot in schedule.items():
            v = self.ops[i]
            if self.inst.jobs[i].fixed is not None:
                continue
            self.m.add_hint(v.start, slot.setup_start)
            self.m.add_hint(v.end, slot.end)
            for machine, lit in v.present.items():
                if not isinstance(lit, int):
                    self.m.add_hint(lit, machine == slot.machine)
                su = v.setup[machine]
                if not isinstance(su, int):
                    self.m.add_hint(
                        su, slot.start - slot.setup_start if machine == slot.machine else 0
                    )
        # complete the hint: sequences, tardiness, makespan
        for machine, arcs in self.arcs.items():
            seq = sorted(
                (i for i, slot in schedule.items() if slot.machine == machine),
                key=lambda i: schedule[i].setup_start,
            )
            used = set(zip([-1, *seq], [*seq, -1], strict=True))
            for pair, lit in arcs.items():
                self.m.add_hint(lit, pair in used or (pair == (-1, -1) and not seq))
        for late, due, sinks in self.late:
            self.m.add_hint(late, max(0, max(schedule[s].end for s in sinks) - due))
        for is_late, due, sinks in self.is_late:
            self.m.add_hint(is_late, max(schedule[s].end for s in sinks) > due)
        for kept, by, sinks in self.kept:
            self.m.add_hint(kept, max(schedule[s].end for s in sinks) <= by)
        self.m.add_hint(self.makespan, max(s.end for s in schedule.values()))

    def read(self, solver: cp_model.CpSolver) -> Schedule:
        out: Schedule = {}
        for i, v in self.ops.items():
            start, end = solver.value(v.start), solver.value(v.end)
            machine = next(
                mc
                for mc, lit in v.present.items()
                if (lit == 1 if isinstance(lit, int) else solver.boolean_value(lit))
            )
            job = self.inst.jobs[i]
            run_start = job.fixed.start if job.fixed is not None else end - job.modes[machine]
            out[i] = Slot(machine, start, run_start, end)
        return out


def solve(
    inst: Instance,
    settings: SolverSettings,
    *,
    horizon: int,
    start_from: Schedule | None,
    previous: Schedule | None = None,
    late_order_units: int = 0,
    promised: Mapping[int, int] | None = None,
    promise_units: int = 0,
    move_units: int = 0,
) -> SolveOutcome:
    """Lexicographic solve; `start_from` is a feasible schedule to hint (a rule's plan or the
    previous plan), `previous` the plan to stay close to; each late order adds
    `late_order_units` of tardiness at its weight to the first objective, each order of
    `promised` that ends after its promised time `promise_units` more, and each operation
    of `previous` moved to another workstation or a later start `move_units`."""
    t0 = time.monotonic()
    model = _Model(
        inst, horizon, start_from, settings.neighbours, late_order_units, promised, promise_units
    )
    m = model.m
    moved: list[cp_model.LinearExprT] = []
    delayed: list[cp_model.LinearExprT] = []  # moved off the workstation or to a later start
    if previous:
        for i, slot in previous.items():
            if i not in model.ops or inst.jobs[i].fixed is not None:
                continue
            v = model.ops[i]
            same = m.new_bool_var("")
            lit = v.present.get(slot.machine)
            if lit is None or isinstance(lit, int):
                continue
            m.add(v.start == slot.setup_start).only_enforce_if(same)
            m.add_implication(same, lit)
            moved.append(1 - same)
            if move_units > 0:
                kept = m.new_bool_var("")
                m.add(v.start <= slot.setup_start).only_enforce_if(kept)
                m.add_implication(kept, lit)
                delayed.append(1 - kept)
    first: cp_model.LinearExprT = sum(model.tardiness)
    if delayed:
        first = cp_model.LinearExpr.weighted_sum([first, sum(delayed)], [1, move_units])
    stages: list[tuple[str, cp_model.LinearExprT]] = [
        ("weighted tardiness", first),
        ("setups", sum(model.setup_terms)),
        ("makespan", model.makespan),
    ]
    if moved:
        # a replan keeps the plan before it trades a move for fewer setups or a shorter span
        stages.insert(1, ("moved operations", sum(moved)))
    # with a previous plan every stage also prefers the plan that moves fewer operations (it
    # ranks below the stage's own objective): a stage cut short by the limit still answers a
    # plan close to the previous one, not whichever optimum of that stage it met first
    stay = len(moved) + 1
    hint = start_from
    status_names: list[str] = []
    best: Schedule | None = None
    shares = settings.stage_shares
    for k, (name, objective) in enumerate(stages):
        elapsed = time.monotonic() - t0
        left = settings.time_limit_s - elapsed
        if left <= 0.05:
            break
        share = shares[k] if k < len(shares) else shares[-1]
        rest = sum(shares[k : len(stages)]) or 1.0
        budget = left * share / rest if k < len(stages) - 1 else left
        last_stage = k == len(stages) - 1
        target = objective
        if moved and not last_stage:
            target = cp_model.LinearExpr.weighted_sum([objective, sum(moved)], [stay, 1])
        m.minimize(target)
        if hint is not None:
            model.hint(hint)
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.num_workers = settings.workers
        p.random_seed = settings.seed
        p.max_time_in_seconds = budget
        p.log_search_progress = settings.log
        p.cp_model_probing_level = settings.probing_level
        p.symmetry_level = 0
        p.linearization_level = settings.linearization_level
        p.repair_hint = settings.repair_hint
        if settings.deterministic_time is not None:
            p.max_deterministic_time = settings.deterministic_time * share
            if settings.workers > 1:
                p.interleave_search = True
        status = solver.solve(m)
        status_names.append(f"{name}: {solver.status_name(status)}")
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        best = model.read(solver)
        hint = best
        bound = solver.value(objective)
        m.add(objective <= bound)
    return SolveOutcome(best, "; ".join(status_names), status_names, time.monotonic() - t0)
