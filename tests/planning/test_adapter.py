"""The adapter builds the planning problem from a seeded database and the plant file."""

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config.plant import PlantConfig
from mes.orders.models import Operation, WorkOrder
from mes.planning.models import PlanSlot, SlotLockRecord
from mes.planning.problem import build_problem
from mes.scheduling import Capability, OperationRef, Pin, PlannerSettings, SolverSettings, plan
from tests.mes.orders_support import (  # noqa: F401
    db_url,
    intake,
    migrated_engine,
    pg_template,
    release_message,
    sqlite_url,
)
from tests.planning.support import NOW, break_down, hours, planning_plant, put_stock, stock_message


@pytest.fixture
def cfg(db_url: str) -> PlantConfig:  # noqa: F811
    return planning_plant(db_url, breakdown_repair_s=7200, frozen_horizon_s=1800)


@pytest.fixture
def seeded(cfg: PlantConfig) -> Iterator[Engine]:
    """Three orders: WO-1 with 0010 running on ws-11 (40 of 100 reported), WO-2 with 0010
    done, WO-3 untouched and cancelled afterwards; 10 kg of steel and 500 kg due in 4 h;
    ws-20 broke down an hour ago."""
    engine = migrated_engine(cfg.database.url, cfg)
    numbers = []
    for erp_id, due in (("PO-1", "2026-12-08T12:00:00Z"), ("PO-2", None), ("PO-3", None)):
        result = intake(engine, release_message(erp_id, 100, due_at=due, priority=3))
        numbers.append(result.work_order)
    intake(
        engine, {"v": 1, "message_id": "c3", "type": "order.cancel", "order": {"erp_id": "PO-3"}}
    )
    with Session(engine) as s:
        ops = {
            (wo.number, op.number): op
            for op, wo in s.exec(select(Operation, WorkOrder).join(WorkOrder))
        }
        running = ops[(numbers[0], "0010")]
        running.status, running.workstation, running.good, running.scrap = "RUNNING", "ws-11", 38, 2
        ops[(numbers[1], "0010")].status = "DONE"
        s.add_all([running, ops[(numbers[1], "0010")]])
        s.commit()
    put_stock(engine, stock_message(10, (NOW + hours(4), 500.0)))
    break_down(engine, "ws-20", NOW - hours(1))
    yield engine
    engine.dispose()


def test_the_problem_is_the_floor_as_it_is(seeded: Engine, cfg: PlantConfig) -> None:
    with Session(seeded) as s:
        problem = build_problem(s, cfg, NOW)
    orders = {o.id: o for o in problem.orders}
    assert sorted(orders) == ["WO-000001", "WO-000002"]  # the cancelled order is not planned
    wo1 = orders["WO-000001"]
    assert wo1.family == "BRKT"
    assert wo1.weight == 4.0
    assert wo1.quantity == 100
    assert wo1.due.isoformat() == "2026-12-08T12:00:00+00:00"
    stamp, bend = wo1.operations
    assert stamp.workstations == (Capability("ws-10", 1.0), Capability("ws-11", 0.5))
    assert stamp.min_wait_s == 300
    assert stamp.materials == ()
    assert bend.workstations == (Capability("ws-20", 2.0), Capability("ws-21", 1.0))
    assert [(m.material, m.quantity) for m in bend.materials] == [("STEEL-2MM", 30.0)]
    floor = problem.floor
    assert floor.done == frozenset({OperationRef("WO-000002", "0010")})
    (run,) = floor.running
    assert (run.ref, run.workstation, run.quantity_done) == (
        OperationRef("WO-000001", "0010"),
        "ws-11",
        40.0,
    )
    (down,) = floor.breakdowns
    assert (down.workstation, down.expected_return) == ("ws-20", NOW + hours(1))
    (steel,) = problem.materials
    assert steel.on_hand == 10
    assert [(r.at, r.quantity) for r in steel.receipts] == [(NOW + hours(4), 500.0)]
    assert {w.id: w.initial_family for w in problem.workstations}["ws-11"] == "BRKT"


def test_a_plan_of_it_respects_breakdown_material_and_running_job(
    seeded: Engine, cfg: PlantConfig
) -> None:
    with Session(seeded) as s:
        s.add(
            SlotLockRecord(
                work_order="WO-000002",
                operation="0020",
                workstation="ws-21",
                start=NOW + hours(6),
                locked_by="user:sup1",
            )
        )
        s.commit()
        problem = build_problem(s, cfg, NOW)
    result = plan(problem, PlannerSettings(solver=SolverSettings(time_limit_s=3, workers=1)))
    assert result.errors == ()
    slots = {(a.order, a.operation): a for a in result.assignments}
    running = slots[("WO-000001", "0010")]
    assert running.workstation == "ws-11"
    assert running.pin == Pin.RUNNING
    locked = slots[("WO-000002", "0020")]
    assert (locked.workstation, locked.start, locked.pin) == ("ws-21", NOW + hours(6), Pin.LOCKED)
    bend = slots[("WO-000001", "0020")]
    # 30 kg of steel, 10 on hand: not before the receipt in 4 h; ws-20 is down for an hour
    assert bend.setup_start >= NOW + hours(4)
    assert bend.setup_start >= running.end + hours(300 / 3600)
    for a in result.assignments:
        if a.workstation == "ws-20":
            assert a.setup_start >= NOW + hours(1)


def test_frozen_slots_of_the_previous_plan_stay(seeded: Engine, cfg: PlantConfig) -> None:
    previous = [
        PlanSlot(
            plan_id=1,
            work_order="WO-000002",
            operation="0020",
            workstation="ws-21",
            setup_start=NOW + hours(0.25),
            start=NOW + hours(0.25),
            end=NOW + hours(0.5),
        ),
    ]
    with Session(seeded) as s:
        problem = build_problem(s, cfg, NOW, previous)
    assert [d.ref for d in problem.floor.dispatched] == [OperationRef("WO-000002", "0020")]
    result = plan(problem, PlannerSettings(solver=SolverSettings(time_limit_s=3, workers=1)))
    slot = result.slot("WO-000002", "0020")
    assert slot is not None
    assert slot.pin == Pin.FROZEN
    assert (slot.workstation, slot.start) == ("ws-21", NOW + hours(0.25))


def test_bad_input_names_the_order_and_operation_and_the_rest_is_planned(
    sqlite_url: str,  # noqa: F811
) -> None:
    cfg = planning_plant(sqlite_url)
    routings = [
        *cfg.routings,
        cfg.routings[0].model_copy(
            update={
                "id": "RT-PAINT",
                "operations": [
                    cfg.routings[0]
                    .operations[0]
                    .model_copy(
                        update={"workstation": None, "work_centre": "PAINT", "alternatives": []}
                    )
                ],
            }
        ),
    ]
    cfg = cfg.model_copy(update={"routings": routings})
    engine = migrated_engine(sqlite_url, cfg)
    try:
        early = intake(engine, release_message("PO-1", 100, due_at="2026-12-08T00:00:00Z"))
        late = intake(engine, release_message("PO-2", 100, due_at="2026-12-09T00:00:00Z"))
        paint = intake(engine, release_message("PO-3", 100, routing="RT-PAINT"))
        put_stock(engine, stock_message(40))  # 30 kg per order: the later one never gets it
        with Session(engine) as s:
            problem = build_problem(s, cfg, NOW)
        result = plan(problem, PlannerSettings(solver=SolverSettings(time_limit_s=3, workers=1)))
        errors = {(e.order, e.operation): e.reason for e in result.errors}
        assert set(errors) == {(late.work_order, "0020"), (paint.work_order, "0010")}
        assert "STEEL-2MM" in errors[(late.work_order, "0020")]
        assert "no workstation" in errors[(paint.work_order, "0010")]
        assert {a.order for a in result.assignments} == {early.work_order}
    finally:
        engine.dispose()
