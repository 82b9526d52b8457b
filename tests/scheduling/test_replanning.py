"""The floor as it is: breakdowns, running operations, frozen and locked slots, warm starts."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

from mes.performance.calendar import Break, CalendarVersion, Shift, ShiftCalendar
from mes.scheduling import (
    Breakdown,
    Capability,
    FloorState,
    Operation,
    OperationRef,
    Pin,
    Plan,
    PlannerSettings,
    Problem,
    RunningOperation,
    SlotLock,
    SolverSettings,
    WorkOrder,
    Workstation,
    plan,
)
from tests.scheduling.instances import random_problem
from tests.scheduling.validator import validate

NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
SETTINGS = PlannerSettings(solver=SolverSettings(time_limit_s=10.0, workers=2))


def two_groups() -> Problem:
    """Orders A* run on M1/M2 only, orders B* on M3 only: independent of each other."""
    orders = []
    for k in range(4):
        ops = (
            Operation("0010", "WC1", (Capability("M1"), Capability("M2", 0.8)), 60.0),
            Operation("0020", "WC1", (Capability("M2"),), 45.0, min_wait_s=600),
        )
        orders.append(WorkOrder(f"A{k}", "PA", "A", 20, NOW, NOW + timedelta(hours=3 + k), ops))
        orders.append(
            WorkOrder(
                f"B{k}",
                "PB",
                "B",
                15,
                NOW,
                NOW + timedelta(hours=4 + 2 * k),
                (Operation("0010", "WC3", (Capability("M3"),), 90.0),),
            )
        )
    stations = tuple(Workstation(m, "WC") for m in ("M1", "M2", "M3"))
    return Problem(NOW, tuple(orders), stations)


def slots(p: Plan) -> dict[tuple[str, str], tuple[str, datetime]]:
    return {(a.order, a.operation): (a.workstation, a.setup_start) for a in p.assignments}


def test_breakdown_moves_only_what_it_must() -> None:
    problem = two_groups()
    first = plan(problem, SETTINGS)
    assert first.method == "cp-sat"
    assert validate(problem, first) == []
    broken = dataclasses.replace(
        problem,
        floor=FloorState(breakdowns=(Breakdown("M3", NOW + timedelta(hours=2)),)),
    )
    again = plan(broken, SETTINGS, previous=first)
    assert validate(broken, again) == []
    before, after = slots(first), slots(again)
    moved = {k for k in before if before[k] != after[k]}
    assert moved, "operations on the broken workstation must move"
    assert all(k[0].startswith("B") for k in moved)  # nothing on M1/M2 moved
    for a in again.assignments:
        if a.workstation == "M3":
            assert a.setup_start >= NOW + timedelta(hours=2)


def test_replan_without_change_moves_nothing() -> None:
    problem = two_groups()
    first = plan(problem, SETTINGS)
    again = plan(problem, SETTINGS, previous=first)
    assert again.method == "cp-sat"
    assert "moved operations: OPTIMAL" in again.solver_status
    assert slots(again) == slots(first)


def test_replan_with_the_search_without_change_moves_nothing() -> None:
    problem = two_groups()
    searching = dataclasses.replace(SETTINGS, replan_search=True)
    first = plan(problem, searching)
    again = plan(problem, searching, previous=first)
    assert validate(problem, again) == []
    assert slots(again) == slots(first)


def test_running_operation_continues_and_pauses_over_a_break() -> None:
    shift = Shift("day", time(6), time(18), frozenset(range(7)), (Break(time(9), time(9, 30)),))
    cal = ShiftCalendar((CalendarVersion(NOW - timedelta(days=1), "UTC", (shift,)),))
    now = NOW.replace(hour=8, minute=50)
    order = WorkOrder(
        "W1",
        "P",
        "A",
        100,
        NOW,
        NOW + timedelta(hours=4),
        (
            Operation("0010", "WC", (Capability("M1"), Capability("M2")), 60.0),
            Operation("0020", "WC", (Capability("M2"),), 6.0),
        ),
    )
    problem = Problem(
        now,
        (order,),
        (Workstation("M1", "WC", cal), Workstation("M2", "WC", cal)),
        floor=FloorState(running=(RunningOperation(OperationRef("W1", "0010"), "M1", 80),)),
    )
    result = plan(problem, SETTINGS)
    assert validate(problem, result) == []
    running = result.slot("W1", "0010")
    assert running is not None
    assert running.pin is Pin.RUNNING
    assert running.workstation == "M1"
    assert running.start == now
    # 20 units x 60 s = 20 min of work: 10 before the break, 30 min break, 10 after
    assert running.end == now + timedelta(minutes=50)
    nxt = result.slot("W1", "0020")
    assert nxt is not None
    assert nxt.setup_start >= running.end


def test_done_operations_are_not_planned() -> None:
    problem = random_problem(8, orders=4)
    order = problem.orders[0]
    done = OperationRef(order.id, order.operations[0].id)
    problem = dataclasses.replace(problem, floor=FloorState(done=frozenset({done})))
    result = plan(problem, SETTINGS)
    assert validate(problem, result) == []
    assert result.slot(done.order, done.operation) is None


def test_frozen_horizon_and_locks_hold_their_slots() -> None:
    problem = two_groups()
    first = plan(problem, SETTINGS)
    late_a = max(
        (a for a in first.assignments if a.workstation == "M1"), key=lambda a: a.setup_start
    )
    early_b = min(
        (a for a in first.assignments if a.workstation == "M3"), key=lambda a: a.setup_start
    )
    lock_at = NOW + timedelta(hours=6)  # a supervisor moves A's last M1 job far out
    floor = FloorState(
        dispatched=tuple(
            SlotLock(OperationRef(a.order, a.operation), a.workstation, a.setup_start)
            for a in first.assignments
        ),
        frozen_horizon=timedelta(minutes=1),  # only what starts in the first minute stays
        locks=(SlotLock(OperationRef(late_a.order, late_a.operation), "M1", lock_at),),
    )
    held = dataclasses.replace(problem, floor=floor)
    result = plan(held, SETTINGS)
    assert validate(held, result) == []
    locked = result.slot(late_a.order, late_a.operation)
    assert locked is not None
    assert locked.pin is Pin.LOCKED
    assert locked.setup_start == lock_at
    frozen = result.slot(early_b.order, early_b.operation)
    assert frozen is not None
    assert frozen.pin is Pin.FROZEN
    assert (frozen.workstation, frozen.setup_start) == ("M3", early_b.setup_start)


def test_frozen_slot_on_a_broken_workstation_is_released_with_a_notice() -> None:
    problem = two_groups()
    first = plan(problem, SETTINGS)
    on_m3 = min(
        (a for a in first.assignments if a.workstation == "M3"), key=lambda a: a.setup_start
    )
    floor = FloorState(
        dispatched=(SlotLock(OperationRef(on_m3.order, on_m3.operation), "M3", on_m3.setup_start),),
        frozen_horizon=timedelta(hours=1),
        breakdowns=(Breakdown("M3", NOW + timedelta(hours=1)),),
    )
    held = dataclasses.replace(problem, floor=floor)
    result = plan(held, SETTINGS)
    assert validate(held, result) == []
    assert any(on_m3.order in n.text and "no longer fits" in n.text for n in result.notices)
    moved = result.slot(on_m3.order, on_m3.operation)
    assert moved is not None
    assert moved.setup_start >= NOW + timedelta(hours=1)


def test_conflicting_locks_are_planned_again_with_a_notice() -> None:
    problem = two_groups()
    at = NOW + timedelta(hours=1)
    floor = FloorState(
        locks=(
            SlotLock(OperationRef("B0", "0010"), "M3", at),
            SlotLock(OperationRef("B1", "0010"), "M3", at + timedelta(minutes=5)),
            SlotLock(OperationRef("A0", "0020"), "M2", NOW),  # before its predecessor ends
        )
    )
    held = dataclasses.replace(problem, floor=floor)
    result = plan(held, SETTINGS)
    assert validate(held, result) == []
    kept = result.slot("B0", "0010")
    assert kept is not None
    assert kept.setup_start == at
    assert any("B1, operation 0010" in n.text and "overlaps" in n.text for n in result.notices)
    assert any(
        "A0, operation 0020" in n.text and "predecessor 0010" in n.text for n in result.notices
    )
    assert result.method == "cp-sat"
