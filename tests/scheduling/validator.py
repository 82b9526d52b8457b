"""An independent check of a plan against its problem: written from the model's definition,
sharing no code with the planner (only the calendar, which is the plant's definition of
open time). Returns the violations found, empty when the plan is valid."""

from __future__ import annotations

from datetime import datetime, timedelta

from mes.performance.calendar import shift_instances
from mes.scheduling import Assignment, Pin, Plan, Problem, WorkOrder, Workstation

EPS = timedelta(seconds=1e-3)


def open_stretches(ws: Workstation, problem: Problem, start: datetime, end: datetime):
    if ws.calendar is None:
        spans = [(start, end)]
    else:
        spans = []
        for inst in shift_instances(ws.calendar, start, end):
            pieces = [(inst.start, inst.end)]
            for b0, b1 in inst.breaks:
                pieces = _minus(pieces, b0, b1)
            spans += pieces
    for d in ws.downtime:
        spans = _minus(spans, d.start, d.end)
    for b in problem.floor.breakdowns:
        if b.workstation == ws.id:
            spans = _minus(spans, problem.now, b.expected_return)
    spans.sort()
    joined: list[tuple[datetime, datetime]] = []
    for a, b in spans:
        if joined and a <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(b, joined[-1][1]))
        else:
            joined.append((a, b))
    return joined


def _minus(spans, c0, c1):
    out = []
    for a, b in spans:
        if b <= c0 or a >= c1:
            out.append((a, b))
        else:
            if a < c0:
                out.append((a, c0))
            if c1 < b:
                out.append((c1, b))
    return out


def _predecessors(order: WorkOrder, op_index: int) -> list[str]:
    op = order.operations[op_index]
    if op.after is not None:
        return list(op.after)
    return [order.operations[op_index - 1].id] if op_index else []


def validate(problem: Problem, plan: Plan) -> list[str]:
    bad: list[str] = []
    floor = problem.floor
    failed = {e.order for e in plan.errors}
    slots: dict[tuple[str, str], Assignment] = {}
    for a in plan.assignments:
        key = (a.order, a.operation)
        if key in slots:
            bad.append(f"{key} planned twice")
        slots[key] = a
    running = {(r.ref.order, r.ref.operation): r for r in floor.running}
    done = {(r.order, r.operation) for r in floor.done}
    held = {}
    for d in floor.dispatched:
        if d.start < problem.now + floor.frozen_horizon:
            held[(d.ref.order, d.ref.operation)] = d
    for lock in floor.locks:
        held[(lock.ref.order, lock.ref.operation)] = lock
    released = " ".join(n.text for n in plan.notices)
    horizon_end = max([a.end for a in plan.assignments], default=problem.now) + timedelta(days=1)
    stretches = {
        w.id: open_stretches(w, problem, problem.now, horizon_end) for w in problem.workstations
    }
    families = {}
    for order in problem.orders:
        for k, op in enumerate(order.operations):
            key = (order.id, op.id)
            families[key] = order.family
            if order.id in failed:
                if key in slots:
                    bad.append(f"{key} planned although its order has an error")
                continue
            if key in done:
                if key in slots:
                    bad.append(f"{key} is done but planned")
                continue
            a = slots.get(key)
            if a is None:
                bad.append(f"{key} not planned")
                continue
            caps = {c.workstation: c.speed for c in op.workstations}
            if a.workstation not in caps:
                bad.append(f"{key} on {a.workstation}, which cannot run it")
                continue
            qty = order.quantity
            if key in running:
                r = running[key]
                qty -= r.quantity_done
                if a.workstation != r.workstation or a.setup_start != problem.now:
                    bad.append(f"{key} is running on {r.workstation} but moved")
            run_s = qty * op.run_s_per_unit / caps[a.workstation]
            if a.setup_start > a.start or a.start > a.end:
                bad.append(f"{key} times out of order")
            if key in running:
                open_s = sum(
                    (min(b, a.end) - max(x, a.start)).total_seconds()
                    for x, b in stretches[a.workstation]
                    if min(b, a.end) > max(x, a.start)
                )
                if open_s + 1e-3 < run_s:
                    bad.append(f"{key} running: {open_s} s open time for {run_s} s of work")
            else:
                if (a.end - a.start).total_seconds() + 1e-3 < run_s:
                    bad.append(f"{key} runs {a.end - a.start} for {run_s} s of work")
                if not any(x <= a.setup_start and a.end <= b for x, b in stretches[a.workstation]):
                    bad.append(
                        f"{key} [{a.setup_start}, {a.end}) not inside open time of {a.workstation}"
                    )
                if a.setup_start < max(order.release, problem.now):
                    bad.append(f"{key} starts before its release")
                for p in _predecessors(order, k):
                    pa = slots.get((order.id, p))
                    if pa is None:
                        continue
                    wait = next(o.min_wait_s for o in order.operations if o.id == p)
                    if a.setup_start + EPS < pa.end + timedelta(seconds=wait):
                        bad.append(f"{key} starts before {p} ends plus its wait")
            if key in held and f"operation {op.id}:" not in released:
                h = held[key]
                if a.workstation != h.workstation or a.setup_start != h.start:
                    bad.append(f"{key} held at {h.workstation} {h.start} but moved")
                if a.pin not in (Pin.FROZEN, Pin.LOCKED):
                    bad.append(f"{key} held but not marked")
    for key in slots:
        if key not in families:
            bad.append(f"{key} planned but not in the problem")
    # workstations: no overlap, setups long enough
    for ws in problem.workstations:
        mine = sorted(
            (a for a in plan.assignments if a.workstation == ws.id), key=lambda a: a.setup_start
        )
        family = ws.initial_family
        prev_end = None
        for a in mine:
            key = (a.order, a.operation)
            if prev_end is not None and a.setup_start < prev_end:
                bad.append(f"{key} overlaps the operation before it on {ws.id}")
            need = problem.setups.seconds(family, families[key])
            if key not in running and (a.start - a.setup_start).total_seconds() + 1e-3 < need:
                bad.append(f"{key} on {ws.id}: setup {a.start - a.setup_start} < {need} s")
            family, prev_end = families[key], a.end
    # materials: the level never drops below zero
    for mat in problem.materials:
        events = [(problem.now, 0, mat.on_hand)]
        events += [(max(r.at, problem.now), 0, r.quantity) for r in mat.receipts]
        for order in problem.orders:
            for op in order.operations:
                a = slots.get((order.id, op.id))
                if a is None or (order.id, op.id) in running:
                    continue
                for need in op.materials:
                    if need.material == mat.id:
                        events.append((a.setup_start, 1, -need.quantity))
        level = 0.0
        for at, _, q in sorted(events, key=lambda e: (e[0], e[1])):
            level += q
            if level < -1e-6:
                bad.append(f"material {mat.id} short at {at}: level {level}")
                break
    # outcomes
    for o in plan.outcomes:
        order = next(x for x in problem.orders if x.id == o.order)
        ends = [a.end for a in plan.assignments if a.order == o.order]
        if ends and max(ends) != o.completion:
            bad.append(f"order {o.order}: completion {o.completion} != last end {max(ends)}")
        late = max((o.completion - order.due).total_seconds(), 0.0)
        if abs(late - o.tardiness_s) > 1e-3:
            bad.append(f"order {o.order}: tardiness {o.tardiness_s} != {late}")
    return bad
