"""Small problems for the tests, built from a seed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from mes.performance.calendar import Break, CalendarVersion, Shift, ShiftCalendar
from mes.scheduling import (
    Capability,
    Material,
    MaterialNeed,
    Operation,
    Problem,
    Receipt,
    SetupMatrix,
    WorkOrder,
    Workstation,
)

NOW = datetime(2026, 3, 27, 6, 0, tzinfo=UTC)  # a Friday before the spring DST change in Berlin


def two_shifts(zone: str = "Europe/Berlin") -> ShiftCalendar:
    early = Shift("early", time(6), time(14), frozenset(range(6)), (Break(time(9), time(9, 30)),))
    late = Shift("late", time(14), time(22), frozenset(range(5)), (Break(time(18), time(18, 20)),))
    return ShiftCalendar(
        (
            CalendarVersion(
                NOW - timedelta(days=10),
                zone,
                (early, late),
                frozenset({NOW.date() + timedelta(days=4)}),
            ),
        )
    )


def setups() -> SetupMatrix:
    fams = "ABC"
    return SetupMatrix(
        tuple(
            (a, b, 600.0 + 300 * ((i + 2 * j) % 3))
            for i, a in enumerate(fams)
            for j, b in enumerate(fams)
            if a != b
        )
    )


def random_problem(seed: int, *, orders: int = 8, machines: int = 4, ops: int = 3) -> Problem:
    rng = random.Random(seed)
    cal = two_shifts()
    stations = tuple(
        Workstation(f"M{i}", f"WC{i % 2}", cal if i % 3 else None, initial_family="A")
        for i in range(machines)
    )
    materials = (
        Material("steel", 30, (Receipt(NOW + timedelta(hours=3), 40),)),
        Material("paint", 0, (Receipt(NOW + timedelta(hours=1), 100),)),
    )
    out = []
    for k in range(orders):
        qty = rng.randint(5, 30)
        operations = []
        for j in range(ops):
            first = rng.randrange(machines)
            caps = [Capability(f"M{first}")]
            if rng.random() < 0.6:
                caps.append(Capability(f"M{(first + 1) % machines}", rng.choice([0.8, 1.25])))
            mats = ()
            if j == 0 and rng.random() < 0.5:
                mats = (MaterialNeed("steel", rng.choice([5, 10])),)
            elif j == 1 and rng.random() < 0.3:
                mats = (MaterialNeed("paint", 10),)
            operations.append(
                Operation(
                    f"{10 * (j + 1):04d}",
                    f"WC{first % 2}",
                    tuple(caps),
                    rng.choice([30, 45, 60, 90]),
                    min_wait_s=rng.choice([0, 0, 300, 900]),
                    materials=mats,
                )
            )
        release = NOW + timedelta(minutes=rng.choice([0, 0, 30, 120]))
        out.append(
            WorkOrder(
                f"WO{k:02d}",
                f"P{k % 5}",
                "ABC"[rng.randrange(3)],
                qty,
                release,
                release + timedelta(hours=rng.randint(2, 10)),
                tuple(operations),
                weight=rng.choice([1, 1, 2, 5]),
            )
        )
    return Problem(NOW, tuple(out), stations, materials, setups())


def single_machine(
    *orders: tuple[str, float, int, int] | tuple[str, float, int, int, float],
) -> Problem:
    """(id, seconds per unit, release minute, due minute[, weight]) of 10 units each, on one
    always-open machine."""
    return Problem(
        NOW,
        tuple(
            WorkOrder(
                spec[0],
                "P",
                "A",
                10,
                NOW + timedelta(minutes=spec[2]),
                NOW + timedelta(minutes=spec[3]),
                (Operation("0010", "WC", (Capability("M1"),), spec[1]),),
                weight=spec[4] if len(spec) > 4 else 1.0,
            )
            for spec in orders
        ),
        (Workstation("M1", "WC"),),
    )
