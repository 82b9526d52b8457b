"""APS benchmark: plan time, the solver against dispatch rules, replanning under disturbances,
and public job-shop instances.

    .venv/bin/python bench/aps.py                 # everything (a few minutes)
    .venv/bin/python bench/aps.py --only plan     # plan, compare, simulate or jobshop
    .venv/bin/python bench/aps.py --only compare --seeds 4 5 6   # other congested instances
    .venv/bin/python bench/aps.py --only simulate --sim-seeds 1 2 3 4 5 [--wall]

Instances are generated from a seed: machines in work centres of two or three alternatives with
their own speeds, two-shift calendars with breaks (one work centre on three shifts), four
product families with a sequence-dependent setup matrix, five materials with stock and receipts,
routings of 3 to 5 operations with transfer waits. `--congestion` scales how tight due dates are.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from mes.performance.calendar import Break, CalendarVersion, Shift, ShiftCalendar
from mes.scheduling import (
    Breakdown,
    Capability,
    FloorState,
    Material,
    MaterialNeed,
    Operation,
    OperationRef,
    Pin,
    Plan,
    PlannerSettings,
    Problem,
    Receipt,
    RunningOperation,
    SetupMatrix,
    SolverSettings,
    WorkOrder,
    Workstation,
    plan,
)
from mes.scheduling.dispatch import Rule

START = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)  # Monday 06:00 in Berlin
FAMILIES = ("F1", "F2", "F3", "F4")
JOBSHOP = Path(__file__).parent / "jobshop"
OPTIMUM = {"ft06": 55, "ft10": 930, "la01": 666, "la02": 655, "la03": 597, "la04": 590, "la05": 593}


def calendars() -> tuple[ShiftCalendar, ShiftCalendar]:
    since = START - timedelta(days=30)
    days = frozenset(range(5))
    two = (
        Shift("early", clock(6), clock(14), days, (Break(clock(9), clock(9, 30)),)),
        Shift("late", clock(14), clock(22), days, (Break(clock(18), clock(18, 30)),)),
    )
    three = (*two, Shift("night", clock(22), clock(6), days, (Break(clock(2), clock(2, 30)),)))
    holiday = frozenset({(START + timedelta(days=17)).date()})
    return (
        ShiftCalendar((CalendarVersion(since, "Europe/Berlin", two, holiday),)),
        ShiftCalendar((CalendarVersion(since, "Europe/Berlin", three, holiday),)),
    )


def generate(seed: int, *, machines: int, orders: int, congestion: float = 1.0) -> Problem:
    """`orders` work orders of 3-5 operations (4 on average) on `machines` workstations."""
    rng = random.Random(seed)
    two, three = calendars()
    centres: list[list[str]] = []
    stations = []
    k = 0
    while k < machines:
        size = min(rng.choice([2, 3]), machines - k)
        ids = [f"M{k + i:02d}" for i in range(size)]
        centre = f"WC{len(centres)}"
        cal = three if len(centres) == 0 else two
        stations += [Workstation(i, centre, cal, initial_family=rng.choice(FAMILIES)) for i in ids]
        centres.append(ids)
        k += size
    speeds = {s.id: rng.choice([0.8, 1.0, 1.0, 1.25]) for s in stations}
    setups = SetupMatrix(
        tuple(
            (a, b, 60.0 * rng.choice([10, 20, 30, 45]))
            for a in FAMILIES
            for b in FAMILIES
            if a != b
        )
    )
    materials = tuple(
        Material(
            f"MAT{i}",
            rng.choice([100, 200, 400]),
            tuple(
                Receipt(START + timedelta(hours=rng.randint(8, 120)), rng.choice([200, 400]))
                for _ in range(3)
            ),
        )
        for i in range(5)
    )
    work_orders = []
    # load: about 1.6 h of work per operation; open capacity about 14.5 h a machine per day
    daily = machines * 14.5 * 3600
    per_op = 1.6 * 3600
    span_days = orders * 4 * per_op / daily
    for n in range(orders):
        count = rng.choice([3, 4, 4, 5])
        qty = rng.randint(10, 60)
        ops = []
        work = 0.0
        for j in range(count):
            centre = centres[rng.randrange(len(centres))]
            per_unit = rng.uniform(0.6, 1.6) * per_op / qty
            work += per_unit * qty
            mats = ()
            if j == 0:
                mats = (MaterialNeed(f"MAT{rng.randrange(5)}", float(rng.choice([5, 10, 20]))),)
            ops.append(
                Operation(
                    f"{10 * (j + 1):04d}",
                    f"WC{centres.index(centre)}",
                    tuple(Capability(s, speeds[s]) for s in centre),
                    per_unit,
                    min_wait_s=60.0 * rng.choice([0, 0, 15, 30, 60]),
                    materials=mats,
                )
            )
        release = START + timedelta(hours=rng.uniform(0, span_days * 24 * 0.5))
        allowance = timedelta(seconds=work * rng.uniform(2.0, 6.0) / congestion)
        due = release + allowance + timedelta(days=rng.uniform(0, span_days) / congestion)
        work_orders.append(
            WorkOrder(
                f"WO{n:04d}",
                f"P{rng.randrange(20)}",
                rng.choice(FAMILIES),
                qty,
                release,
                due,
                tuple(ops),
                weight=rng.choice([1.0, 1.0, 1.0, 2.0, 5.0]),
            )
        )
    return Problem(START, tuple(work_orders), tuple(stations), materials, setups)


# the simulation's planner: replans run the search from the previous plan. Every plan stops on
# an evaluation count (the search) and CP-SAT's deterministic time (2 workers, seed 0), with a
# wall cap far off, so a run replays the same plans on a loaded machine (`--wall`: a 5 s wall
# limit instead, as the MES plans)
STEADY = PlannerSettings(
    solver=SolverSettings(time_limit_s=300.0, workers=2, seed=0, deterministic_time=0.25),
    replan_search=True,
)
WALL = PlannerSettings(solver=SolverSettings(time_limit_s=5.0, workers=2), replan_search=True)


def _cpu() -> float:
    return time.process_time()


@dataclass
class Row:
    name: str
    wall_s: float
    cpu_s: float
    on_time: float
    weighted_tardiness_h: float
    setups_h: float
    method: str


def run(problem: Problem, settings: PlannerSettings, name: str) -> tuple[Row, Plan]:
    w0, c0 = time.perf_counter(), _cpu()
    result = plan(problem, settings)
    row = Row(
        name,
        time.perf_counter() - w0,
        _cpu() - c0,
        result.on_time_rate,
        result.weighted_tardiness / 3600,
        result.setup_s / 3600,
        result.method,
    )
    return row, result


def print_rows(rows: list[Row]) -> None:
    print(f"| {'plan':<28} | wall s | CPU s | on time | weighted tardiness h | setups h | method |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.name:<28} | {r.wall_s:6.1f} | {r.cpu_s:5.1f} | {r.on_time:6.0%} |"
            f" {r.weighted_tardiness_h:20.1f} | {r.setups_h:8.1f} | {r.method} |"
        )


def rules_only(rule: Rule) -> PlannerSettings:
    return PlannerSettings(rules=(rule,), use_solver=False)


def _ratio(value: float, base: float) -> float:
    return value / base if base else 0.0


def against(label: str, planned: Row, base: Row) -> str:
    """The planner's figures against a baseline measured in the same run."""
    ratio = (
        f"{planned.weighted_tardiness_h / base.weighted_tardiness_h:.2f}x"
        if base.weighted_tardiness_h
        else "n/a (baseline 0)"
    )
    return (
        f"{label}: on time {(planned.on_time - base.on_time) * 100:+.0f} points,"
        f" weighted tardiness {ratio}, CPU {planned.cpu_s:.1f} s vs {base.cpu_s:.2f} s"
    )


def with_baselines(
    problem: Problem, settings: PlannerSettings, label: str, planned_name: str
) -> tuple[Row, Row, Row, list[str]]:
    """The planner, then EDD and FIFO on the same problem in the same run, and the comparison
    lines."""
    planned = run(problem, settings, planned_name)[0]
    edd = run(problem, rules_only(Rule.EDD), f"{label} {Rule.EDD}")[0]
    fifo = run(problem, rules_only(Rule.FIFO), f"{label} {Rule.FIFO}")[0]
    lines = [against(f"{label} vs EDD", planned, edd), against(f"{label} vs FIFO", planned, fifo)]
    return planned, edd, fifo, lines


def bench_plan(seed: int) -> None:
    print("\n## Plan time and quality (solver vs EDD and FIFO)\n")
    rows = []
    lines = []
    for label, machines, orders, limit in (("small", 10, 50, 5.0), ("large", 30, 250, 30.0)):
        problem = generate(seed, machines=machines, orders=orders)
        n_ops = sum(len(o.operations) for o in problem.orders)
        settings = PlannerSettings(solver=SolverSettings(time_limit_s=limit, workers=2, seed=0))
        planned, edd, fifo, compared = with_baselines(
            problem, settings, label, f"{label} {machines}m/{n_ops}ops CP-SAT"
        )
        rows += [planned, edd, fifo]
        lines += compared
    print_rows(rows)
    print()
    for line in lines:
        print(f"- {line}")


def bench_compare(seeds: list[int], congestion: float) -> None:
    print(f"\n## Congested instances (congestion {congestion}), 10 machines / ~200 operations\n")
    rows = []
    gains = []
    lines = []
    for seed in seeds:
        problem = generate(seed, machines=10, orders=50, congestion=congestion)
        settings = PlannerSettings(solver=SolverSettings(time_limit_s=5.0, workers=2))
        cp, edd, fifo, compared = with_baselines(
            problem, settings, f"seed {seed}", f"seed {seed} CP-SAT"
        )
        rows += [cp, edd, fifo]
        lines += compared
        gains.append(
            (
                cp.on_time - edd.on_time,
                _ratio(cp.weighted_tardiness_h, edd.weighted_tardiness_h),
                cp.on_time - fifo.on_time,
                _ratio(cp.weighted_tardiness_h, fifo.weighted_tardiness_h),
            )
        )
    print_rows(rows)
    print()
    for line in lines:
        print(f"- {line}")
    mean = [statistics.mean(g[k] for g in gains) for k in range(4)]
    print(
        f"\nmean vs EDD: on time {mean[0] * 100:+.1f} points (target >= +15),"
        f" weighted tardiness {mean[1]:.2f}x (target <= 0.5x);"
        f" vs FIFO: {mean[2] * 100:+.1f} points, {mean[3]:.2f}x"
    )


# -- simulated execution ------------------------------------------------------------------


def _advance(
    now: datetime,
    current: Plan,
    problem: Problem,
    done: dict[tuple[str, str], datetime],
    progress: dict[tuple[str, str], float],
    breakdowns: tuple[Breakdown, ...],
) -> FloorState:
    """The floor at `now` if `current` was executed until then."""
    qty = {o.id: o.quantity for o in problem.orders}
    running = []
    for a in current.assignments:
        key = (a.order, a.operation)
        if key in done:
            continue
        if a.end <= now:
            done[key] = a.end
        elif a.setup_start < now:
            span = (a.end - a.start).total_seconds()
            part = max((now - a.start).total_seconds(), 0.0) / span if span else 0.0
            before = progress.get(key, 0.0)
            progress[key] = before + (qty[a.order] - before) * min(part, 0.95)
            running.append(RunningOperation(OperationRef(*key), a.workstation, progress[key]))
    return FloorState(
        done=frozenset(OperationRef(*k) for k in done),
        running=tuple(running),
        breakdowns=tuple(b for b in breakdowns if b.expected_return > now),
    )


@dataclass
class Realised:
    """One simulated execution: the realised on-time rate and weighted tardiness (hours), the
    orders on time (original / rush, `R...`) and the operations each replan moved."""

    on_time: float
    weighted_tardiness_h: float
    split: str
    moved: list[int]
    replan_wall_s: list[float]
    replan_cpu_s: list[float]
    late: set[str]


def _moved(before: Plan, after: Plan) -> int:
    """Operations planned in both plans (not running or held) on another workstation or with
    another setup start."""
    old = {(a.order, a.operation): (a.workstation, a.setup_start) for a in before.assignments}
    return sum(
        1
        for a in after.assignments
        if a.pin is Pin.PLANNED
        and (key := (a.order, a.operation)) in old
        and old[key] != (a.workstation, a.setup_start)
    )


def simulate(
    seed: int,
    *,
    replan: bool,
    first: Plan | None = None,
    events: int = 6,
    settings: PlannerSettings = STEADY,
) -> Realised:
    """Execute plans through breakdowns and rush orders (from `first`, the plan both modes
    start from, when given)."""
    rng = random.Random(seed * 7919 + 1)
    problem = generate(seed, machines=10, orders=40, congestion=1.2)
    current = first if first is not None else plan(problem, settings)
    done: dict[tuple[str, str], datetime] = {}
    progress: dict[tuple[str, str], float] = {}
    breakdowns: tuple[Breakdown, ...] = ()
    now = START
    orders = list(problem.orders)
    stations = [w.id for w in problem.workstations]
    moved: list[int] = []
    walls: list[float] = []
    cpus: list[float] = []
    for e in range(events):
        now = now + timedelta(hours=rng.choice([4, 6, 8]))
        if rng.random() < 0.7:
            back = now + timedelta(hours=rng.choice([2, 4, 8]))
            breakdowns += (Breakdown(rng.choice(stations), back),)
        for r in generate(seed * 100 + e, machines=10, orders=2, congestion=3.0).orders:
            orders.append(
                replace(r, id=f"R{e}{r.id}", release=now, due=r.due + (now - START), weight=5.0)
            )
        floor = _advance(now, current, problem, done, progress, breakdowns)
        problem = replace(problem, now=now, orders=tuple(orders), floor=floor)
        w0, c0 = time.perf_counter(), _cpu()
        after = (
            plan(problem, settings, previous=current)
            if replan
            else _keep_sequence(problem, current)
        )
        walls.append(time.perf_counter() - w0)
        cpus.append(_cpu() - c0)
        moved.append(_moved(current, after))
        current = after
    finish: dict[str, datetime] = {}
    for (order, _), at in done.items():
        finish[order] = max(finish.get(order, at), at)
    for a in current.assignments:
        finish[a.order] = max(finish.get(a.order, a.end), a.end)
    due = {o.id: o.due for o in problem.orders}
    weight = {o.id: o.weight for o in problem.orders}
    late = sum(weight[o] * max((finish[o] - due[o]).total_seconds(), 0.0) for o in finish)
    rush = [o for o in finish if o.startswith("R")]
    on_time = {o for o in finish if finish[o] <= due[o]}
    split = f"{len(on_time) - len(on_time & set(rush))}/{len(finish) - len(rush)}"
    split += f" + {len(on_time & set(rush))}/{len(rush)}"
    return Realised(
        len(on_time) / len(finish), late / 3600, split, moved, walls, cpus, set(finish) - on_time
    )


def _keep_sequence(problem: Problem, previous: Plan) -> Plan:
    """No replanning: every workstation works through its old queue in order (shifted right
    past breakdowns), new orders go to the end of the queue."""
    from mes.scheduling.dispatch import dispatch
    from mes.scheduling.instance import build
    from mes.scheduling.result import to_plan

    inst = build(problem)
    order_of = {
        (a.order, a.operation): k
        for k, a in enumerate(sorted(previous.assignments, key=lambda a: a.setup_start))
    }
    machine_of = {(a.order, a.operation): a.workstation for a in previous.assignments}
    for job in inst.jobs:
        m = machine_of.get((job.ref.order, job.ref.operation))
        if job.fixed is None and m in job.modes:
            job.modes = {m: job.modes[m]}

    def priority(job, slot, remaining, mean_p):  # type: ignore[no-untyped-def]
        k = order_of.get((job.ref.order, job.ref.operation))
        return (0, k, 0) if k is not None else (1, inst.orders[job.order].order.release, job.index)

    return to_plan(inst, dispatch(inst, priority), method="keep sequence")


def bench_simulate(seeds: list[int], settings: PlannerSettings = STEADY) -> None:
    print("\n## Simulated execution: breakdowns and rush orders, replanning vs not\n")
    print(
        "| seed | on time, replanning | on time, keeping the plan |"
        " weighted tardiness h, replanning | weighted tardiness h, keeping the plan |"
        " on time original + rush, replanning | keeping the plan |"
        " operations moved per replan | moved keeping the plan | replan wall s / CPU s, max |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for seed in seeds:
        # both modes execute the same first plan (a wall-limited solve differs run to run)
        first = plan(generate(seed, machines=10, orders=40, congestion=1.2), settings)
        a = simulate(seed, replan=True, first=first, settings=settings)
        b = simulate(seed, replan=False, first=first, settings=settings)
        rows.append((a.on_time, b.on_time, a.weighted_tardiness_h, b.weighted_tardiness_h))
        print(
            f"| {seed} | {a.on_time:.0%} | {b.on_time:.0%} | {a.weighted_tardiness_h:.0f} |"
            f" {b.weighted_tardiness_h:.0f} | {a.split} | {b.split} |"
            f" {' '.join(map(str, a.moved))} | {' '.join(map(str, b.moved))} |"
            f" {max(a.replan_wall_s):.1f} / {max(a.replan_cpu_s):.1f} |"
        )
    mean = [statistics.mean(r[k] for r in rows) for k in range(4)]
    print(f"| mean | {mean[0]:.0%} | {mean[1]:.0%} | {mean[2]:.0f} | {mean[3]:.0f} |")
    better = sum(1 for r in rows if r[0] >= r[1] and r[2] <= r[3])
    print(
        f"\nreplanning at least as good on both on-time rate and weighted tardiness:"
        f" {better} of {len(rows)} seeds"
    )


# -- public job-shop instances ------------------------------------------------------------


def load_jobshop(name: str) -> Problem:
    lines = [
        ln
        for ln in (JOBSHOP / f"{name}.txt").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    jobs, machines = map(int, lines[0].split())
    stations = tuple(Workstation(f"M{m}", f"M{m}") for m in range(machines))
    far = START + timedelta(days=365)
    orders = []
    for j, line in enumerate(lines[1 : 1 + jobs]):
        nums = list(map(int, line.split()))
        ops = tuple(
            Operation(
                f"{10 * (k + 1):04d}",
                f"M{nums[2 * k]}",
                (Capability(f"M{nums[2 * k]}"),),
                float(nums[2 * k + 1]) * 60,
            )
            for k in range(machines)
        )
        orders.append(WorkOrder(f"J{j}", "P", "F", 1, START, far, ops))
    return Problem(START, tuple(orders), stations)


def bench_jobshop(limit: float) -> None:
    print(f"\n## Public job-shop instances as makespan problems ({limit:g} s each)\n")
    print("| instance | optimum | makespan | gap | wall s | CPU s |")
    print("|---|---|---|---|---|---|")
    for name, best in OPTIMUM.items():
        problem = load_jobshop(name)
        settings = PlannerSettings(
            solver=SolverSettings(time_limit_s=limit, workers=2, stage_shares=(0.02, 0.02, 0.96)),
        )
        w0, c0 = time.perf_counter(), _cpu()
        result = plan(problem, settings)
        wall, cpu = time.perf_counter() - w0, _cpu() - c0
        span = round((max(a.end for a in result.assignments) - START).total_seconds() / 60)
        print(f"| {name} | {best} | {span} | {(span - best) / best:.1%} | {wall:.1f} | {cpu:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["plan", "compare", "simulate", "jobshop"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--congestion", type=float, default=2.0)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[1, 2, 3], help="of the congested instances"
    )
    parser.add_argument(
        "--sim-seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5], help="of the simulation"
    )
    parser.add_argument(
        "--wall",
        action="store_true",
        help="simulation: plan with a 5 s wall limit (as the MES does), not deterministic time",
    )
    parser.add_argument(
        "--promise-margin-h",
        type=float,
        help="simulation: PlannerSettings.promise_margin_s in hours (default: the planner's)",
    )
    args = parser.parse_args()
    if args.only in (None, "plan"):
        bench_plan(args.seed)
    if args.only in (None, "compare"):
        bench_compare(args.seeds, args.congestion)
    if args.only in (None, "simulate"):
        settings = WALL if args.wall else STEADY
        if args.promise_margin_h is not None:
            settings = replace(settings, promise_margin_s=args.promise_margin_h * 3600.0)
        bench_simulate(args.sim_seeds, settings)
    if args.only in (None, "jobshop"):
        bench_jobshop(10.0)


if __name__ == "__main__":
    main()
