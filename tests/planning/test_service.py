"""The planning service: replans when the floor changes (debounced), moves only what it must
after a breakdown, keeps supervisors' locks, stores each plan with its diff and publishes it."""

import json
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config.plant import PlantConfig
from mes.core.clock import aware
from mes.orders.models import Operation, WorkOrder
from mes.planning import store
from mes.planning.models import SlotLockRecord
from mes.planning.publish import SCHEDULE
from mes.planning.service import PlanningService
from mes.scheduling import Pin
from tests.mes.orders_support import (  # noqa: F401
    db_url,
    intake,
    migrated_engine,
    outbox,
    pg_template,
    release_message,
)
from tests.planning.support import NOW, break_down, hours, planning_plant


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def cfg(db_url: str) -> PlantConfig:  # noqa: F811
    return planning_plant(db_url, breakdown_repair_s=3600, breakdown_min_left_s=0)


@pytest.fixture
def engine(cfg: PlantConfig) -> Iterator[Engine]:
    engine = migrated_engine(cfg.database.url, cfg)
    for k in range(4):
        intake(engine, release_message(f"PO-{k}", 100, due_at="2026-12-20T00:00:00Z"))
    yield engine
    engine.dispose()


def _slots(engine: Engine) -> dict[tuple[str, str], tuple[str, datetime, str]]:
    with Session(engine) as s:
        plan = store.current(s)
        assert plan is not None
        return {
            (x.work_order, x.operation): (x.workstation, x.start, x.pin)
            for x in store.slots_of(s, plan.id)
        }


def test_a_breakdown_moves_only_what_it_must(engine: Engine, cfg: PlantConfig) -> None:
    clock = Clock(NOW)
    service = PlanningService(cfg, engine, clock=clock)
    first = service.poll()  # no plan yet: the first look plans
    assert first is not None
    assert first.trigger == "changed: start"
    before = _slots(engine)
    assert len(before) == 8
    assert service.poll() is None  # nothing changed
    break_down(engine, "ws-20", NOW)
    second = service.poll()
    assert second is not None
    assert second.trigger == "changed: breakdowns"
    after = _slots(engine)
    back = NOW + hours(1)
    for (order, op), (ws, start, _) in after.items():
        if ws == "ws-20":
            assert start >= back, (order, op)
    moved = {k for k in after if after[k][:2] != before[k][:2]}
    must = {k for k, (ws, start, _) in before.items() if ws == "ws-20" and start < back}
    assert must
    assert must <= moved
    assert all(op == "0020" for _, op in moved), moved  # the stamping plan did not change
    diff = json.loads(second.diff_json)
    assert diff["previous"] == first.id
    assert {(m["work_order"], m["operation"]) for m in diff["moved"]} == moved
    assert diff["kept"] == 8 - len(moved)
    published = outbox(engine, SCHEDULE)
    assert [p["plan_id"] for p in published] == [first.id, second.id]
    assert len(published[-1]["operations"]) == 8
    assert {o["erp_id"] for o in published[-1]["orders"]} == {f"PO-{k}" for k in range(4)}


def _lock(engine: Engine, order: str) -> None:
    """A supervisor's lock of the order's curing on ws-21, 3 h on."""
    with Session(engine) as s:
        s.add(
            SlotLockRecord(
                work_order=order,
                operation="0020",
                workstation="ws-21",
                start=NOW + hours(3),
                locked_by="user:sup1",
            )
        )
        s.commit()


def test_a_locked_slot_is_kept_through_replans(engine: Engine, cfg: PlantConfig) -> None:
    clock = Clock(NOW)
    service = PlanningService(cfg, engine, clock=clock)
    service.replan("test")
    order = sorted(_slots(engine))[0][0]
    _lock(engine, order)
    assert service.poll() is not None  # a lock is a change
    assert _slots(engine)[(order, "0020")] == ("ws-21", NOW + hours(3), Pin.LOCKED)
    break_down(engine, "ws-21", NOW)
    clock.at = NOW + hours(0.5)
    assert service.poll() is not None
    assert _slots(engine)[(order, "0020")] == ("ws-21", NOW + hours(3), Pin.LOCKED)


def test_a_change_its_own_replan_planned_is_not_planned_again(
    engine: Engine, cfg: PlantConfig
) -> None:
    """A lock replans at once; the poll that saw the lock meanwhile makes no second plan."""
    cfg = cfg.model_copy(update={"planning": cfg.planning.model_copy(update={"debounce_s": 10})})
    clock = Clock(NOW)
    service = PlanningService(cfg, engine, clock=clock)
    service.replan("test")
    assert service.poll() is None
    order = sorted(_slots(engine))[0][0]
    _lock(engine, order)
    assert service.poll() is None  # the lock seen, waiting for the debounce
    # the poll's `_seen` is reset by the replan: forget it, as when the lock's replan job
    # ran in another thread after this poll's look
    seen = service._seen
    own = service.replan(f"lock {order}/0020 by user:sup1")
    service._seen = seen
    clock.at = NOW + hours(20 / 3600)
    again = service.poll()
    assert again is not None
    assert again.id == own.id  # the lock's plan, not a new one
    with Session(engine) as s:
        assert store.current(s).id == own.id  # type: ignore[union-attr]
    intake(engine, release_message("PO-new", 10, due_at="2026-12-20T00:00:00Z"))
    assert service.poll() is None
    clock.at = NOW + hours(40 / 3600)
    newer = service.poll()  # a change no plan has seen yet is planned
    assert newer is not None
    assert newer.id != own.id


def test_replans_wait_for_the_floor_to_settle(engine: Engine, cfg: PlantConfig) -> None:
    cfg = cfg.model_copy(
        update={"planning": cfg.planning.model_copy(update={"debounce_s": 10, "max_delay_s": 30})}
    )
    clock = Clock(NOW)
    service = PlanningService(cfg, engine, clock=clock)
    assert service.poll() is None  # the first look waits for the debounce too
    clock.at = NOW + hours(10 / 3600)
    assert service.poll() is not None
    for k, at_s in enumerate((20, 28, 36, 44)):  # a change every 8 s: never quiet for 10 s
        intake(engine, release_message(f"PO-late-{k}", 10, due_at="2026-12-20T00:00:00Z"))
        clock.at = NOW + hours(at_s / 3600)
        replanned = service.poll()
        if at_s - 20 < 30:
            assert replanned is None, at_s
    clock.at = NOW + hours(52 / 3600)  # 32 s after the first change: the delay is up
    replanned = service.poll()
    assert replanned is not None
    assert replanned.trigger == "changed: operations, orders"


def test_an_operation_running_late_replans_once(engine: Engine, cfg: PlantConfig) -> None:
    clock = Clock(NOW)
    service = PlanningService(cfg, engine, clock=clock)
    service.replan("test")
    slots = _slots(engine)
    first = min((k for k in slots if slots[k][0] == "ws-10"), key=lambda k: slots[k][1])
    with Session(engine) as s:
        (op,) = [
            o
            for o, w in s.exec(select(Operation, WorkOrder).join(WorkOrder))
            if (w.number, o.number) == first
        ]
        op.status, op.good = "RUNNING", 10
        s.add(op)
        s.commit()
    assert service.poll() is not None  # it started
    end = _ends(engine)[first]
    clock.at = end - hours(1 / 60)
    assert service.poll() is None  # still on time
    clock.at = end + hours(1 / 60)
    late = service.poll()
    assert late is not None
    assert late.trigger == "changed: late"
    assert _ends(engine)[first] > clock.at  # the new plan gives it the rest of its work
    assert service.poll() is None  # and does not replan again for it


def _ends(engine: Engine) -> dict[tuple[str, str], datetime]:
    with Session(engine) as s:
        plan = store.current(s)
        assert plan is not None
        return {(x.work_order, x.operation): aware(x.end) for x in store.slots_of(s, plan.id)}


def test_nothing_to_plan_makes_no_plan(cfg: PlantConfig) -> None:
    engine = migrated_engine(cfg.database.url.replace("mes.db", "empty.db"), cfg)
    try:
        service = PlanningService(cfg, engine, clock=Clock(NOW))
        assert service.poll() is None
        with Session(engine) as s:
            assert store.current(s) is None
    finally:
        engine.dispose()
