"""Bad input: a clear error naming the order and the operation, and the rest is planned."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from mes.performance.calendar import CalendarVersion, ShiftCalendar
from mes.scheduling import (
    Capability,
    MaterialNeed,
    ModelError,
    Operation,
    PlannerSettings,
    Problem,
    SolverSettings,
    WorkOrder,
    Workstation,
    plan,
)
from tests.scheduling.instances import NOW, random_problem
from tests.scheduling.validator import validate

SETTINGS = PlannerSettings(solver=SolverSettings(time_limit_s=1.5))


def with_order(problem: Problem, order: WorkOrder, *stations: Workstation) -> Problem:
    return dataclasses.replace(
        problem, orders=(*problem.orders, order), workstations=(*problem.workstations, *stations)
    )


def bad_order(*ops: Operation, oid: str = "BAD") -> WorkOrder:
    return WorkOrder(oid, "PX", "A", 10, NOW, NOW + timedelta(hours=8), ops)


def op(op_id: str, station: str = "M1", **kw) -> Operation:  # type: ignore[no-untyped-def]
    return Operation(op_id, "WC1", (Capability(station),), 30.0, **kw)


def check(problem: Problem, operation: str | set[str], words: str) -> str:
    """Plan `problem`: one error, naming the operation it returns; the rest is planned."""
    result = plan(problem, SETTINGS)
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.order == "BAD"
    assert error.operation in ({operation} if isinstance(operation, str) else operation)
    operation = error.operation
    assert words in error.reason
    assert f"work order BAD, operation {operation}" in str(error)
    planned = {a.order for a in result.assignments}
    assert "BAD" not in planned
    assert planned == {o.id for o in problem.orders if o.id != "BAD"}
    assert validate(problem, result) == []
    return operation


def test_routing_with_a_cycle() -> None:
    order = bad_order(op("0010", after=("0030",)), op("0020"), op("0030"))
    check(with_order(random_problem(2), order), {"0010", "0020", "0030"}, "cycle")
    error = plan(with_order(random_problem(2), order), SETTINGS).errors[0]
    assert all(o in error.reason for o in ("0010", "0020", "0030"))


def test_routing_naming_an_unknown_predecessor() -> None:
    order = bad_order(op("0010"), op("0020", after=("0015",)))
    assert check(with_order(random_problem(2), order), "0020", "not in the routing") == "0020"


def test_operation_no_workstation_can_run() -> None:
    order = bad_order(op("0010"), op("0020", station="NOWHERE"))
    result_problem = with_order(random_problem(2), order)
    check(result_problem, "0020", "no workstation can run")
    assert any("NOWHERE" in n.text for n in plan(result_problem, SETTINGS).notices)


def test_calendar_with_no_capacity() -> None:
    closed = ShiftCalendar((CalendarVersion(NOW - timedelta(days=1), "UTC", ()),))
    order = bad_order(op("0010"), op("0020", station="DEAD"))
    problem = with_order(random_problem(3), order, Workstation("DEAD", "WC9", closed))
    assert check(problem, "0020", "calendar has no capacity") == "0020"


def test_operation_longer_than_any_open_stretch() -> None:
    order = bad_order(op("0010"), Operation("0020", "WC1", (Capability("M1"),), 4 * 3600.0))
    problem = dataclasses.replace(
        random_problem(3),
        workstations=tuple(
            dataclasses.replace(w, calendar=random_problem(3).workstations[1].calendar)
            for w in random_problem(3).workstations
        ),
    )
    assert check(with_order(problem, order), "0020", "no open window") == "0020"


def test_material_that_never_arrives() -> None:
    order = bad_order(op("0010"), op("0020", materials=(MaterialNeed("steel", 10_000),)))
    assert (
        check(with_order(random_problem(4), order), "0020", "material 'steel' never arrives")
        == "0020"
    )


def test_unknown_material_never_arrives() -> None:
    order = bad_order(op("0010", materials=(MaterialNeed("unobtainium", 1),)))
    assert check(with_order(random_problem(4), order), "0010", "never arrives") == "0010"


def test_infeasible_due_dates_are_planned_with_tardiness() -> None:
    problem = random_problem(5)
    late = tuple(
        dataclasses.replace(o, due=NOW - timedelta(hours=1)) if k % 2 == 0 else o
        for k, o in enumerate(problem.orders)
    )
    problem = dataclasses.replace(problem, orders=late)
    result = plan(problem, SETTINGS)
    assert result.errors == ()
    assert validate(problem, result) == []
    tardy = {o.order: o.tardiness_s for o in result.outcomes}
    for k, o in enumerate(problem.orders):
        if k % 2 == 0:
            assert tardy[o.id] > 3600
    assert result.weighted_tardiness > 0


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ModelError, match="WO1: release must be timezone-aware"):
        WorkOrder("WO1", "P", "A", 1, NOW.replace(tzinfo=None), NOW, ())


def test_duplicate_order_ids_are_refused() -> None:
    problem = random_problem(1)
    with pytest.raises(ModelError, match="appears twice"):
        dataclasses.replace(problem, orders=(*problem.orders, problem.orders[0]))
