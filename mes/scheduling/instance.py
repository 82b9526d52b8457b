"""The problem checked and put in integer time units, shared by the dispatch rules and the solver.

Time 0 is `problem.now`; one unit is `resolution_s` seconds. Durations are rounded up and open
windows rounded inwards, so a plan in units is also a plan in real time. An order whose input
is bad (routing cycle, operation nobody can run, no window long enough, material that never
arrives) is left out with a `PlanningError`; the rest is planned.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mes.performance.calendar import shift_instances
from mes.scheduling.model import (
    Operation,
    OperationRef,
    Problem,
    SlotLock,
    WorkOrder,
    Workstation,
)
from mes.scheduling.plan import Notice, Param, Pin, PlanningError

QTY_SCALE = 1000  # material quantities in thousandths


@dataclass(frozen=True, slots=True)
class Fixed:
    """A slot that the planner does not move: setup from `setup_start`, run [start, end)."""

    machine: str
    setup_start: int
    start: int
    end: int
    pin: Pin


@dataclass(slots=True)
class Job:
    index: int
    ref: OperationRef
    order: int  # index into Instance.orders
    family: str
    modes: dict[str, int]  # workstation -> run units
    preds: list[tuple[int, int]]  # (job index, wait units after it)
    release: int
    materials: list[tuple[str, int]]  # (material, scaled quantity) consumed at setup start
    fixed: Fixed | None = None
    succs: list[int] = field(default_factory=list)


@dataclass(slots=True)
class OrderInfo:
    order: WorkOrder
    due: int
    jobs: list[int]
    sinks: list[int]


@dataclass(slots=True)
class Instance:
    origin: datetime
    unit_s: int
    jobs: list[Job]
    orders: list[OrderInfo]
    machines: list[Workstation]
    windows: dict[str, list[tuple[int, int]]]  # open [a, b) per workstation, sorted, disjoint
    setup_units: dict[tuple[str | None, str], int]
    families: list[str]
    supply: dict[str, list[tuple[int, int]]]  # material -> (time, scaled quantity) sorted
    horizon: int
    errors: list[PlanningError]
    notices: list[Notice]

    def units(self, instant: datetime, *, up: bool) -> int:
        x = (instant - self.origin).total_seconds() / self.unit_s
        return math.ceil(x - 1e-9) if up else math.floor(x + 1e-9)

    def at(self, units: int) -> datetime:
        return self.origin + timedelta(seconds=units * self.unit_s)

    def setup(self, before: str | None, after: str) -> int:
        return self.setup_units.get((before, after), 0)

    def max_setup_into(self, family: str) -> int:
        return max(
            (self.setup(b, family) for b in [None, *self.families]),
            default=0,
        )

    def initial_family(self, machine: str) -> str | None:
        for m in self.machines:
            if m.id == machine:
                return m.initial_family
        return None

    def fit(self, machine: str, earliest: int, length: int) -> int | None:
        """Earliest start >= earliest of an open stretch of `length` units on `machine`."""
        wins = self.windows[machine]
        for i in range(max(bisect.bisect_right(wins, (earliest, math.inf)) - 1, 0), len(wins)):
            a, b = wins[i]
            s = max(a, earliest)
            if s + length <= b:
                return s
        return None

    def longest_window(self, machine: str) -> int:
        return max((b - a for a, b in self.windows[machine]), default=0)


def _error(order: str, operation: str, key: str, reason: str, **params: Param) -> PlanningError:
    """An error with its catalogue key `plan.error.<key>` and parameters (order and operation
    among them)."""
    return PlanningError(
        order,
        operation,
        reason,
        f"plan.error.{key}",
        {"order": order, "operation": operation, **params},
    )


def _notice(order: str, operation: str, key: str, text: str, **params: Param) -> Notice:
    """A notice with its catalogue key `plan.notice.<key>` and parameters."""
    return Notice(text, f"plan.notice.{key}", {"order": order, "operation": operation, **params})


def _ceil_units(seconds: float, unit_s: int) -> int:
    return max(math.ceil(seconds / unit_s - 1e-9), 0)


def _open_windows(
    ws: Workstation, start: datetime, end: datetime, blocked: Iterable[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    if ws.calendar is None:
        spans = [(start, end)]
    else:
        spans = []
        for inst in shift_instances(ws.calendar, start, end):
            cursor = inst.start
            for b0, b1 in sorted(inst.breaks):
                if b0 > cursor:
                    spans.append((cursor, b0))
                cursor = max(cursor, b1)
            if cursor < inst.end:
                spans.append((cursor, inst.end))
    for c0, c1 in blocked:
        cut = []
        for a, b in spans:
            if c1 <= a or c0 >= b:
                cut.append((a, b))
                continue
            if a < c0:
                cut.append((a, c0))
            if c1 < b:
                cut.append((c1, b))
        spans = cut
    # merge touching spans (a shift ending when the next starts)
    merged: list[tuple[datetime, datetime]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _routing_preds(order: WorkOrder) -> tuple[dict[str, list[str]], PlanningError | None]:
    ids = [op.id for op in order.operations]
    preds: dict[str, list[str]] = {}
    for k, op in enumerate(order.operations):
        if ids.count(op.id) > 1:
            return preds, _error(order.id, op.id, "operation_twice", "operation id appears twice")
        if op.after is None:
            preds[op.id] = [ids[k - 1]] if k else []
        else:
            for p in op.after:
                if p not in ids:
                    return preds, _error(
                        order.id,
                        op.id,
                        "unknown_predecessor",
                        f"follows operation {p!r}, not in the routing",
                        predecessor=p,
                    )
            preds[op.id] = list(op.after)
    # cycle check (depth-first, reports an operation on the cycle)
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for p in preds[node]:
            if state.get(p) == 1:
                return [*path[path.index(p) :], p] if p in path else [p, node, p]
            if p not in state:
                found = visit(p, [*path, p])
                if found:
                    return found
        state[node] = 2
        return None

    for op_id in ids:
        if op_id not in state:
            cycle = visit(op_id, [op_id])
            if cycle:
                path = " -> ".join(cycle)
                return preds, _error(
                    order.id, cycle[-1], "cycle", f"routing has a cycle: {path}", cycle=path
                )
    return preds, None


def build(problem: Problem, *, resolution_s: int = 60) -> Instance:
    now = problem.now
    floor = problem.floor
    unit_s = resolution_s
    errors: list[PlanningError] = []
    notices: list[Notice] = []
    stations = {w.id: w for w in problem.workstations}
    frozen_until = now + floor.frozen_horizon
    slots: dict[OperationRef, tuple[SlotLock, Pin]] = {}
    for d in floor.dispatched:
        if d.start < frozen_until:
            slots[d.ref] = (d, Pin.FROZEN)
    for lock in floor.locks:
        slots[lock.ref] = (lock, Pin.LOCKED)

    families = sorted(
        {o.family for o in problem.orders}
        | {w.initial_family for w in problem.workstations if w.initial_family}
    )
    setup_units = {
        (a, b): _ceil_units(problem.setups.seconds(a, b), unit_s)
        for a in [None, *families]
        for b in families
    }
    total_s = sum(
        o.quantity * op.run_s_per_unit / min((c.speed for c in op.workstations), default=1.0)
        + max((s for _, _, s in problem.setups.times), default=problem.setups.default_s)
        + op.min_wait_s
        for o in problem.orders
        for op in o.operations
    )
    latest = max(
        [now]
        + [o.release for o in problem.orders]
        + [r.at for m in problem.materials for r in m.receipts]
        + [b.expected_return for b in floor.breakdowns]
        + [s.start for s, _ in slots.values()]
    )
    horizon_end = latest + timedelta(seconds=total_s * 4) + timedelta(days=14)
    horizon_end = min(horizon_end, now + timedelta(days=730))
    windows: dict[str, list[tuple[int, int]]] = {}
    inst = Instance(
        now,
        unit_s,
        [],
        [],
        list(problem.workstations),
        windows,
        setup_units,
        families,
        {},
        0,
        errors,
        notices,
    )
    for ws in problem.workstations:
        blocked = [(d.start, d.end) for d in ws.downtime]
        blocked += [(now, b.expected_return) for b in floor.breakdowns if b.workstation == ws.id]
        spans = _open_windows(ws, now, horizon_end, blocked)
        wins = []
        for a, b in spans:
            ua, ub = inst.units(a, up=True), inst.units(b, up=False)
            if ub > ua:
                wins.append((ua, ub))
        windows[ws.id] = wins
    inst.horizon = inst.units(horizon_end, up=False)

    # materials: supply events, then allocate demand by due date; shortfalls are errors
    supply: dict[str, list[tuple[int, int]]] = {}
    for mat in problem.materials:
        events = [(0, round(mat.on_hand * QTY_SCALE))]
        events += [
            (max(inst.units(r.at, up=True), 0), round(r.quantity * QTY_SCALE)) for r in mat.receipts
        ]
        supply[mat.id] = sorted(events)
    inst.supply = supply
    left = {m: sum(q for _, q in ev) for m, ev in supply.items()}

    for order in sorted(problem.orders, key=lambda o: (o.due, o.id)):
        error = _add_order(inst, problem, order, stations, slots, left)
        if error is not None:
            errors.append(error)
    for job in inst.jobs:
        for p, _ in job.preds:
            inst.jobs[p].succs.append(job.index)
    _release_conflicting_holds(inst)
    return inst


def _release_conflicting_holds(inst: Instance) -> None:
    """A frozen or locked slot that overlaps an earlier held slot on its workstation, or that
    would start before a predecessor that is not held ends, is planned again (with a notice)."""
    changed = True
    while changed:
        changed = False
        held = sorted(
            (j for j in inst.jobs if j.fixed is not None),
            key=lambda j: (j.fixed.pin is not Pin.RUNNING, j.fixed.setup_start),  # type: ignore[union-attr]
        )
        busy: dict[str, list[tuple[int, int]]] = {}
        for job in held:
            f = job.fixed
            assert f is not None
            why: tuple[str, str, dict[str, Param]] | None = None  # key, text, params
            if f.pin is not Pin.RUNNING:
                if any(a < f.end and f.setup_start < b for a, b in busy.get(f.machine, [])):
                    why = ("overlaps", f"overlaps another held slot on {f.machine}", {})
                for p, wait in job.preds:
                    pf = inst.jobs[p].fixed
                    pred = inst.jobs[p].ref.operation
                    if pf is None:
                        why = (
                            "predecessor_not_held",
                            f"its predecessor {pred} is not held",
                            {"predecessor": pred},
                        )
                    elif pf.end + wait > f.setup_start:
                        why = (
                            "before_predecessor",
                            f"starts before its predecessor {pred} ends",
                            {"predecessor": pred},
                        )
            if why is not None:
                job.fixed = None
                worst = inst.max_setup_into(job.family)
                fits = {m: r for m, r in job.modes.items() if r + worst <= inst.longest_window(m)}
                job.modes = fits or job.modes
                key, reason, params = why
                inst.notices.append(
                    _notice(
                        job.ref.order,
                        job.ref.operation,
                        f"{f.pin.value}.{key}",
                        f"work order {job.ref.order}, operation {job.ref.operation}:"
                        f" {f.pin.value} slot on {f.machine} {reason}, planned again",
                        workstation=f.machine,
                        **params,
                    )
                )
                changed = True
                break
            busy.setdefault(f.machine, []).append((f.setup_start, f.end))


def _add_order(
    inst: Instance,
    problem: Problem,
    order: WorkOrder,
    stations: dict[str, Workstation],
    slots: dict[OperationRef, tuple[SlotLock, Pin]],
    left: dict[str, int],
) -> PlanningError | None:
    preds, error = _routing_preds(order)
    if error is not None:
        return error
    floor = problem.floor
    release = max(inst.units(order.release, up=True), 0)
    jobs: list[Job] = []
    need: dict[str, int] = {}
    by_id: dict[str, Operation] = {op.id: op for op in order.operations}
    for op in order.operations:
        ref = OperationRef(order.id, op.id)
        if ref in floor.done:
            continue
        run = next((r for r in floor.running if r.ref == ref), None)
        qty = order.quantity - (run.quantity_done if run is not None else 0.0)
        modes: dict[str, int] = {}
        for cap in op.workstations:
            if cap.workstation not in stations:
                inst.notices.append(
                    _notice(
                        order.id,
                        op.id,
                        "unknown_workstation",
                        f"work order {order.id}, operation {op.id}: unknown workstation"
                        f" {cap.workstation!r} ignored",
                        workstation=cap.workstation,
                    )
                )
                continue
            modes[cap.workstation] = max(
                _ceil_units(max(qty, 0.0) * op.run_s_per_unit / cap.speed, inst.unit_s), 1
            )
        if not modes:
            return _error(
                order.id, op.id, "no_workstation", "no workstation can run this operation"
            )
        fixed: Fixed | None = None
        if run is not None:
            fixed = _running_slot(inst, run.workstation, modes.get(run.workstation))
            if fixed is None:
                return _error(
                    order.id,
                    op.id,
                    "running_cannot_finish",
                    f"running on {run.workstation!r}, which cannot finish it in the horizon",
                    workstation=run.workstation,
                )
        elif ref in slots:
            fixed = _locked_slot(inst, order, op.id, slots[ref], modes)
        if fixed is None and run is None:
            worst = inst.max_setup_into(order.family)
            usable = {m: r for m, r in modes.items() if r + worst <= inst.longest_window(m)}
            if not usable:
                longest = max(inst.longest_window(m) for m in modes) * inst.unit_s
                needs = min(modes.values()) * inst.unit_s
                stations_list = ", ".join(sorted(modes))
                return _error(
                    order.id,
                    op.id,
                    "no_capacity",
                    f"no open window of {stations_list} is long enough"
                    f" (needs {needs} s plus setup, longest open"
                    f" stretch {longest} s): the calendar has no capacity for it",
                    workstations=stations_list,
                    needs_s=needs,
                    longest_s=longest,
                )
            modes = usable
        if run is None:
            for m in op.materials:
                need[m.material] = need.get(m.material, 0) + round(m.quantity * QTY_SCALE)
        jobs.append(
            Job(
                index=-1,
                ref=ref,
                order=len(inst.orders),
                family=order.family,
                modes=modes,
                preds=[],
                release=release,
                materials=[]
                if fixed is not None and fixed.pin is Pin.RUNNING
                else [(m.material, round(m.quantity * QTY_SCALE)) for m in op.materials],
                fixed=fixed,
            )
        )
    for material, qty in need.items():
        if qty > left.get(material, 0):
            op_id = next(
                op.id
                for op in order.operations
                if any(m.material == material for m in op.materials)
            )
            needed, stock = qty / QTY_SCALE, left.get(material, 0) / QTY_SCALE
            return _error(
                order.id,
                op_id,
                "material_short",
                f"material {material!r} never arrives in the quantity needed"
                f" ({needed:g} needed, {stock:g} left of"
                f" stock and expected receipts)",
                material=material,
                needed=needed,
                left=stock,
            )
    for material, qty in need.items():
        left[material] -= qty
    index_of = {}
    for job in jobs:
        job.index = len(inst.jobs)
        index_of[job.ref.operation] = job.index
        inst.jobs.append(job)
    for job in jobs:
        for p in _live_preds(job.ref.operation, preds, index_of):
            job.preds.append((index_of[p], _ceil_units(by_id[p].min_wait_s, inst.unit_s)))
    with_succ = {p for job in jobs for p, _ in job.preds}
    inst.orders.append(
        OrderInfo(
            order,
            inst.units(order.due, up=False),
            [j.index for j in jobs],
            [j.index for j in jobs if j.index not in with_succ],
        )
    )
    return None


def _live_preds(op_id: str, preds: dict[str, list[str]], live: dict[str, int]) -> set[str]:
    """Nearest predecessors still to plan (done operations are skipped through)."""
    out: set[str] = set()
    stack = list(preds[op_id])
    seen: set[str] = set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        if p in live:
            out.add(p)
        else:
            stack.extend(preds[p])
    return out


def _running_slot(inst: Instance, machine: str, run: int | None) -> Fixed | None:
    """A running operation continues now and pauses over closed time."""
    if run is None:
        return None
    remaining, end = run, 0
    for a, b in inst.windows[machine]:
        if b <= 0:
            continue
        a = max(a, 0)
        take = min(remaining, b - a)
        remaining -= take
        end = a + take
        if remaining == 0:
            return Fixed(machine, 0, 0, end, Pin.RUNNING)
    return None


def _locked_slot(
    inst: Instance,
    order: WorkOrder,
    op_id: str,
    slot: tuple[SlotLock, Pin],
    modes: dict[str, int],
) -> Fixed | None:
    """The held slot, with room for the longest setup into its family; None (and a notice)
    when it no longer fits the workstation's open time."""
    lock, pin = slot
    start = max(inst.units(lock.start, up=True), 0)
    run = modes.get(lock.workstation)
    setup = inst.max_setup_into(order.family)
    if run is not None and inst.fit(lock.workstation, start, setup + run) == start:
        return Fixed(lock.workstation, start, start + setup, start + setup + run, pin)
    inst.notices.append(
        _notice(
            order.id,
            op_id,
            f"{pin.value}.no_longer_fits",
            f"work order {order.id}, operation {op_id}: {pin.value} slot on {lock.workstation}"
            f" at {lock.start.isoformat()} no longer fits, planned again",
            workstation=lock.workstation,
            at=lock.start.isoformat(),
        )
    )
    return None
