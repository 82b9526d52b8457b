"""Each kind of notice and planning error carries its catalogue key (`plan.notice.*`,
`plan.error.*` in mes/i18n) and its parameters beside the English text; the English catalogue
filled with the parameters says exactly the text (so the pages' English matches what other
systems read), and every such key of the catalogues is produced by one of these cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from mes.i18n import LANGUAGES, catalogue, text
from mes.performance.calendar import CalendarVersion, ShiftCalendar
from mes.scheduling import (
    Breakdown,
    Capability,
    FloorState,
    Material,
    MaterialNeed,
    Notice,
    Operation,
    OperationRef,
    PlanningError,
    Problem,
    RunningOperation,
    SlotLock,
    WorkOrder,
    Workstation,
)
from mes.scheduling.instance import build
from mes.scheduling.plan import Param

NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
CLOSED = ShiftCalendar((CalendarVersion(NOW - timedelta(days=1), "UTC", ()),))
M1, M2 = Workstation("M1", "WC"), Workstation("M2", "WC")


def op(op_id: str, *stations: str, **kw) -> Operation:  # type: ignore[no-untyped-def]
    return Operation(op_id, "WC", tuple(Capability(s) for s in stations or ("M1",)), 60.0, **kw)


def order(*ops: Operation, oid: str = "WO1") -> WorkOrder:
    return WorkOrder(oid, "P", "A", 10, NOW, NOW + timedelta(hours=8), ops)


def problem(
    *orders: WorkOrder,
    floor: FloorState | None = None,
    stations: tuple[Workstation, ...] = (M1, M2),
    materials: tuple[Material, ...] = (),
) -> Problem:
    return Problem(NOW, orders, stations, materials, floor=floor or FloorState())


def lock(oid: str, op_id: str, station: str, at: datetime) -> SlotLock:
    return SlotLock(OperationRef(oid, op_id), station, at)


def held(pin: str, *slots: SlotLock, **floor: Any) -> FloorState:
    """`slots` locked by a supervisor, or dispatched inside the frozen horizon."""
    if pin == "locked":
        return FloorState(locks=slots, **floor)
    return FloorState(dispatched=slots, frozen_horizon=timedelta(hours=1), **floor)


def on_a_broken_workstation(pin: str) -> Problem:
    broken = (Breakdown("M1", NOW + timedelta(hours=1)),)
    slot = lock("WO1", "0010", "M1", NOW)
    return problem(order(op("0010")), floor=held(pin, slot, breakdowns=broken))


def overlapping(pin: str) -> Problem:
    slots = (lock("WO1", "0010", "M1", NOW), lock("WO2", "0010", "M1", NOW + timedelta(minutes=5)))
    return problem(
        order(op("0010"), oid="WO1"), order(op("0010"), oid="WO2"), floor=held(pin, *slots)
    )


def predecessor_free(pin: str) -> Problem:
    return problem(
        order(op("0010"), op("0020", "M2")), floor=held(pin, lock("WO1", "0020", "M2", NOW))
    )


def before_predecessor(pin: str) -> Problem:
    slots = (lock("WO1", "0010", "M1", NOW), lock("WO1", "0020", "M2", NOW + timedelta(minutes=1)))
    return problem(order(op("0010"), op("0020", "M2")), floor=held(pin, *slots))


SECOND = {"order": "WO1", "operation": "0020", "workstation": "M2", "predecessor": "0010"}
#: why a held slot is planned again -> (its problem by pin, the parameters it must carry)
HELD: dict[str, tuple[Callable[[str], Problem], dict[str, Param]]] = {
    "no_longer_fits": (
        on_a_broken_workstation,
        {"order": "WO1", "operation": "0010", "workstation": "M1", "at": NOW.isoformat()},
    ),
    "overlaps": (overlapping, {"order": "WO2", "operation": "0010", "workstation": "M1"}),
    "predecessor_not_held": (predecessor_free, SECOND),
    "before_predecessor": (before_predecessor, SECOND),
}

# name -> (the problem, the key, the parameters it must carry)
NOTICES: dict[str, tuple[Callable[[], Problem], str, dict[str, Param]]] = {
    "unknown workstation": (
        lambda: problem(order(op("0010", "M1", "NOWHERE"))),
        "plan.notice.unknown_workstation",
        {"order": "WO1", "operation": "0010", "workstation": "NOWHERE"},
    ),
} | {
    f"{pin} slot: {why}": (partial(make, pin), f"plan.notice.{pin}.{why}", params)
    for pin in ("frozen", "locked")
    for why, (make, params) in HELD.items()
}

ERRORS: dict[str, tuple[Callable[[], Problem], str, dict[str, Param]]] = {
    "operation twice": (
        lambda: problem(order(op("0010"), op("0010"))),
        "plan.error.operation_twice",
        {"order": "WO1", "operation": "0010"},
    ),
    "unknown predecessor": (
        lambda: problem(order(op("0010"), op("0020", after=("0015",)))),
        "plan.error.unknown_predecessor",
        {"order": "WO1", "operation": "0020", "predecessor": "0015"},
    ),
    "cycle": (
        lambda: problem(order(op("0010", after=("0020",)), op("0020", after=("0010",)))),
        "plan.error.cycle",
        {"order": "WO1"},
    ),
    "no workstation": (
        lambda: problem(order(op("0010", "NOWHERE"))),
        "plan.error.no_workstation",
        {"order": "WO1", "operation": "0010"},
    ),
    "running where it cannot finish": (
        lambda: problem(
            order(op("0010")),
            floor=FloorState(running=(RunningOperation(OperationRef("WO1", "0010"), "M2"),)),
        ),
        "plan.error.running_cannot_finish",
        {"order": "WO1", "operation": "0010", "workstation": "M2"},
    ),
    "no capacity": (
        lambda: problem(
            order(op("0010", "M3")), stations=(M1, Workstation("M3", "WC", calendar=CLOSED))
        ),
        "plan.error.no_capacity",
        {"order": "WO1", "operation": "0010", "workstations": "M3", "needs_s": 600},
    ),
    "material short": (
        lambda: problem(
            order(op("0010", materials=(MaterialNeed("steel", 12.5),))),
            materials=(Material("steel", 2.0),),
        ),
        "plan.error.material_short",
        {"order": "WO1", "operation": "0010", "material": "steel", "needed": 12.5, "left": 2.0},
    ),
}


def english(key: str, params: dict[str, Param]) -> str:
    """The English catalogue's text with the parameters as the pages show them (numbers
    without a trailing .0)."""
    shown = {k: f"{v:g}" if isinstance(v, float) else v for k, v in params.items()}
    return text(key, "en", **shown)


def carries(params: dict[str, Param], expected: dict[str, Param]) -> None:
    assert {k: params.get(k) for k in expected} == expected


@pytest.mark.parametrize("case", NOTICES)
def test_each_notice_carries_its_key_and_params(case: str) -> None:
    make, key, expected = NOTICES[case]
    inst = build(make())
    found = [n for n in inst.notices if n.key == key]
    assert len(found) == 1, [n.text for n in inst.notices]
    notice = found[0]
    assert isinstance(notice, Notice)
    carries(notice.params, expected)
    assert english(key, notice.params) == notice.text


@pytest.mark.parametrize("case", ERRORS)
def test_each_planning_error_carries_its_key_and_params(case: str) -> None:
    make, key, expected = ERRORS[case]
    inst = build(make())
    assert [e.key for e in inst.errors] == [key]
    error = inst.errors[0]
    assert isinstance(error, PlanningError)
    carries(error.params, expected)
    assert error.params["operation"] == error.operation
    assert english(key, error.params) == error.reason


def test_a_cycle_names_its_path() -> None:
    inst = build(ERRORS["cycle"][0]())
    assert inst.errors[0].params["cycle"] in ("0010 -> 0020 -> 0010", "0020 -> 0010 -> 0020")


def test_every_plan_key_of_the_catalogues_is_produced_and_translated() -> None:
    made = {key for _, key, _ in (*NOTICES.values(), *ERRORS.values())}
    for language in LANGUAGES:
        keys = {k for k in catalogue(language) if k.startswith(("plan.notice.", "plan.error."))}
        assert keys == made, language
    assert [k for k in made if catalogue("zh-CN")[k] == catalogue("en")[k]] == []
