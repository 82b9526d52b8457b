"""Small instances: the solver's plan is as good as the best found by enumerating every
assignment and sequence (weighted tardiness, then setups, then makespan)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest

from mes.performance.calendar import Break, CalendarVersion, Shift, ShiftCalendar
from mes.scheduling import (
    Capability,
    Operation,
    PlannerSettings,
    Problem,
    SetupMatrix,
    SolverSettings,
    WorkOrder,
    Workstation,
    plan,
)
from tests.scheduling.validator import validate

NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # a Monday
# the lexicographic optimum of weighted tardiness, setups, makespan: no cost per late order
SETTINGS = PlannerSettings(
    solver=SolverSettings(time_limit_s=30.0, workers=2), late_order_cost_s=0.0
)
SETUPS = SetupMatrix(
    (
        ("A", "B", 600.0),
        ("B", "A", 1200.0),
        ("A", "C", 300.0),
        ("C", "A", 300.0),
        ("B", "C", 900.0),
        ("C", "B", 600.0),
    )
)


def day_with_break() -> ShiftCalendar:
    shift = Shift("day", time(6), time(18), frozenset(range(7)), (Break(time(8), time(8, 30)),))
    return ShiftCalendar((CalendarVersion(NOW - timedelta(days=1), "UTC", (shift,)),))


def _open(ws: Workstation) -> list[tuple[datetime, datetime]]:
    if ws.calendar is None:
        return [(NOW, NOW + timedelta(days=30))]
    out = []
    for d in range(30):
        day = NOW.replace(hour=0) + timedelta(days=d)
        out += [
            (day + timedelta(hours=6), day + timedelta(hours=8)),
            (day + timedelta(hours=8, minutes=30), day + timedelta(hours=18)),
        ]
    return [(a, b) for a, b in out if b > NOW]


def _fit(wins, earliest: datetime, length: timedelta) -> datetime:
    for a, b in wins:
        s = max(a, earliest)
        if s + length <= b:
            return s
    raise AssertionError("no window")


def brute_force(problem: Problem) -> tuple[float, float, float]:
    """The best (weighted tardiness s, setup s, makespan s) over every assignment and every
    sequence on every workstation, each sequence scheduled as early as possible."""
    ops = [(o, k) for o in problem.orders for k in range(len(o.operations))]
    stations = {w.id: w for w in problem.workstations}
    wins = {w: _open(stations[w]) for w in stations}
    best = None
    choices = [[c for c in o.operations[k].workstations] for o, k in ops]
    for assign in itertools.product(*choices):
        per = {w: [i for i, c in enumerate(assign) if c.workstation == w] for w in stations}
        for perms in itertools.product(*(itertools.permutations(v) for v in per.values())):
            seqs = dict(zip(per, perms, strict=True))
            end: dict[int, datetime] = {}
            setup_total = 0.0
            pos = {w: 0 for w in seqs}
            free = {w: NOW for w in seqs}
            fam = {w: stations[w].initial_family for w in seqs}
            progress = True
            while progress:
                progress = False
                for w, seq in seqs.items():
                    if pos[w] == len(seq):
                        continue
                    i = seq[pos[w]]
                    order, k = ops[i]
                    if k and (i - 1) not in end:
                        continue
                    ready = max(free[w], order.release)
                    if k:
                        ready = max(
                            ready,
                            end[i - 1] + timedelta(seconds=order.operations[k - 1].min_wait_s),
                        )
                    su = problem.setups.seconds(fam[w], order.family)
                    run = order.quantity * order.operations[k].run_s_per_unit / assign[i].speed
                    length = timedelta(seconds=su + run)
                    s = _fit(wins[w], ready, length)
                    end[i] = s + length
                    free[w], fam[w] = end[i], order.family
                    setup_total += su
                    pos[w] += 1
                    progress = True
            if len(end) < len(ops):
                continue  # the sequences deadlock against the routings
            wt = 0.0
            for o in problem.orders:
                done = max(end[i] for i, (x, _) in enumerate(ops) if x is o)
                wt += o.weight * max((done - o.due).total_seconds(), 0.0)
            span = (max(end.values()) - NOW).total_seconds()
            cand = (wt, setup_total, span)
            if best is None or cand < best:
                best = cand
    assert best is not None
    return best


def achieved(problem: Problem, result) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    wt = 0.0
    for o in problem.orders:
        done = max(a.end for a in result.assignments if a.order == o.id)
        wt += o.weight * max((done - o.due).total_seconds(), 0.0)
    span = (max(a.end for a in result.assignments) - NOW).total_seconds()
    return wt, result.setup_s, span


def single_op(
    oid: str,
    fam: str,
    qty: int,
    s_per_unit: float,
    due_min: int,
    weight: float,
    caps: tuple[Capability, ...],
    release_min: int = 0,
) -> WorkOrder:
    return WorkOrder(
        oid,
        "P",
        fam,
        qty,
        NOW + timedelta(minutes=release_min),
        NOW + timedelta(minutes=due_min),
        (Operation("0010", "WC", caps, s_per_unit),),
        weight=weight,
    )


def test_single_machine_with_setups_and_a_break() -> None:
    m = (Capability("M1"),)
    orders = (
        single_op("W1", "A", 10, 360, 70, 1, m),
        single_op("W2", "B", 5, 360, 60, 3, m),
        single_op("W3", "A", 4, 600, 200, 1, m, release_min=30),
        single_op("W4", "C", 6, 300, 90, 2, m),
        single_op("W5", "B", 8, 450, 150, 1, m),
        single_op("W6", "C", 3, 600, 240, 2, m, release_min=60),
    )
    problem = Problem(
        NOW, orders, (Workstation("M1", "WC", day_with_break(), initial_family="A"),), setups=SETUPS
    )
    result = plan(problem, SETTINGS)
    assert validate(problem, result) == []
    assert achieved(problem, result) == brute_force(problem)


def test_parallel_machines_with_speeds() -> None:
    caps = (Capability("M1"), Capability("M2", 1.5))
    orders = tuple(
        single_op(f"W{i}", "ABC"[i % 3], q, 300, due, w, caps)
        for i, (q, due, w) in enumerate(
            [(6, 40, 2), (10, 60, 1), (4, 30, 3), (8, 90, 1), (12, 80, 2)]
        )
    )
    problem = Problem(
        NOW,
        orders,
        (
            Workstation("M1", "WC", None, initial_family="A"),
            Workstation("M2", "WC", day_with_break(), initial_family="B"),
        ),
        setups=SETUPS,
    )
    result = plan(problem, SETTINGS)
    assert validate(problem, result) == []
    assert achieved(problem, result) == brute_force(problem)


@pytest.mark.parametrize("waits", [(0, 0), (600, 1800)])
def test_small_job_shop_with_waits(waits: tuple[int, int]) -> None:
    def order(oid: str, fam: str, route: tuple[str, str], due: int, weight: float) -> WorkOrder:
        ops = tuple(
            Operation(
                f"00{k + 1}0",
                "WC",
                (Capability(route[k]),),
                240.0 + 120 * k,
                min_wait_s=float(waits[k]),
            )
            for k in range(2)
        )
        return WorkOrder(oid, "P", fam, 5, NOW, NOW + timedelta(minutes=due), ops, weight)

    orders = (
        order("W1", "A", ("M1", "M2"), 60, 1),
        order("W2", "B", ("M2", "M1"), 50, 2),
        order("W3", "A", ("M1", "M2"), 100, 1),
    )
    problem = Problem(
        NOW,
        orders,
        (
            Workstation("M1", "WC", None, initial_family="A"),
            Workstation("M2", "WC", None, initial_family="B"),
        ),
        setups=SETUPS,
    )
    result = plan(problem, SETTINGS)
    assert validate(problem, result) == []
    assert achieved(problem, result) == brute_force(problem)
