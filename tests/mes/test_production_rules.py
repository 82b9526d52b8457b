# ruff: noqa: F811 - pytest fixtures are imported from orders_support
"""Production service rules on SQLite and PostgreSQL: sequencing, quantities, holds, parallel
work, rework, corrections, append-only events, confirmations in the outbox."""

import pytest
import yaml
from sqlmodel import Session, select

from config.loader import parse_plant
from mes.core.errors import Refusal
from mes.orders.models import Operation, WorkOrder
from mes.production.models import AppendOnlyViolation, ProductionEvent
from mes.wiring import production as build_production
from tests.mes.orders_support import (  # noqa: F401
    PLANT_YAML,
    db_url,
    engine,
    migrated_engine,
    outbox,
    pg_template,
    plant,
    release,
    sqlite_url,
)

P = build_production()

TOL = 2.0


def op(engine, number, opno):
    with Session(engine) as s:
        wo = s.exec(select(WorkOrder).where(WorkOrder.number == number)).one()
        o = s.exec(
            select(Operation).where(Operation.work_order_id == wo.id, Operation.number == opno)
        ).one()
        return wo, o


def act(engine, fn, *args, **kwargs):
    """Run one action in its own transaction, like the scan writer does."""
    with Session(engine, expire_on_commit=False) as s:
        try:
            out = fn(s, *args, **kwargs)
        except Refusal:
            s.rollback()
            raise
        s.commit()
        return out


def start(engine, number, opno, ws, operator="E1"):
    return act(engine, P.start_operation, number, opno, workstation=ws, operator=operator)


def good(engine, number, opno, ws, n, operator="E1", **kw):
    return act(
        engine,
        P.report_good,
        number,
        opno,
        quantity=n,
        workstation=ws,
        operator=operator,
        tolerance_percent=TOL,
        **kw,
    )


def refused(code, fn, *args, **kwargs):
    with pytest.raises(Refusal) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, info.value.message
    return info.value.message


def test_sequencing_is_checked_at_start_and_on_quantity(engine):
    wo = release(engine, "PO-S", 10)
    msg = refused("OUT_OF_SEQUENCE", start, engine, wo, "0020", "ws-20")
    assert "0010 has released nothing" in msg
    refused("WRONG_WORKSTATION", start, engine, wo, "0010", "ws-20")
    start(engine, wo, "0010", "ws-10")
    good(engine, wo, "0010", "ws-10", 4)
    assert op(engine, wo, "0020")[1].status == "READY"
    start(engine, wo, "0020", "ws-20", "E2")
    good(engine, wo, "0020", "ws-20", 3, "E2")
    refused("QUANTITY_ABOVE_RELEASED", good, engine, wo, "0020", "ws-20", 2, "E2")
    refused(
        "OUT_OF_SEQUENCE",
        act,
        engine,
        P.complete_operation,
        wo,
        "0020",
        workstation="ws-20",
        operator="E2",
    )


def test_over_report_beyond_order_and_tolerance(engine):
    wo = release(engine, "PO-T", 100)
    start(engine, wo, "0010", "ws-10")
    good(engine, wo, "0010", "ws-10", 100)
    good(engine, wo, "0010", "ws-10", 2)  # 2 % tolerance
    msg = refused("QUANTITY_ABOVE_ORDER", good, engine, wo, "0010", "ws-10", 1)
    assert "limit 102" in msg
    assert op(engine, wo, "0010")[1].good == 102
    refused("INVALID_QUANTITY", good, engine, wo, "0010", "ws-10", 0)
    refused(
        "REASON_REQUIRED",
        act,
        engine,
        P.report_scrap,
        wo,
        "0010",
        quantity=1,
        reason=" ",
        workstation="ws-10",
        operator="E1",
        tolerance_percent=TOL,
    )


def test_holds_are_a_set_and_refusals_name_them(engine):
    wo = release(engine, "PO-H", 10)
    start(engine, wo, "0010", "ws-10")
    act(engine, P.hold_work_order, wo, "H-17", "oven temperature excursion")
    act(engine, P.hold_work_order, wo, "H-18", "")
    act(engine, P.hold_work_order, wo, "H-17", "again")  # idempotent
    msg = refused("WORK_ORDER_HELD", good, engine, wo, "0010", "ws-10", 1)
    assert f"{wo} is held: oven temperature excursion (hold H-17)" in msg
    assert "H-18" in msg
    assert act(engine, P.release_work_order_hold, wo, "H-17") is True
    refused("WORK_ORDER_HELD", good, engine, wo, "0010", "ws-10", 1)
    assert act(engine, P.release_work_order_hold, wo, "H-nope") is False
    act(engine, P.release_work_order_hold, wo, "H-18")
    assert op(engine, wo, "0010")[0].status == "RUNNING"
    good(engine, wo, "0010", "ws-10", 1)


def test_suspend_and_pause_need_resume(engine):
    wo = release(engine, "PO-P", 10)
    start(engine, wo, "0010", "ws-10")
    act(
        engine, P.pause_operation, wo, "0010", workstation="ws-10", operator="E1", reason="MATERIAL"
    )
    refused("OPERATION_NOT_RUNNING", good, engine, wo, "0010", "ws-10", 1)
    refused(
        "REASON_REQUIRED",
        act,
        engine,
        P.pause_operation,
        wo,
        "0010",
        workstation="ws-10",
        operator="E1",
        reason="",
    )
    act(engine, P.resume_operation, wo, "0010", workstation="ws-10", operator="E1")
    act(engine, P.suspend_work_order, wo, actor="sup", reason="urgent order first")
    refused("WORK_ORDER_SUSPENDED", good, engine, wo, "0010", "ws-10", 1)
    act(engine, P.resume_work_order, wo, actor="sup")
    good(engine, wo, "0010", "ws-10", 1)
    assert op(engine, wo, "0010")[1].good == 1  # only the report after resume counted


def test_rework_path_and_scrap_reasons(engine):
    wo = release(engine, "PO-R", 10)
    start(engine, wo, "0010", "ws-10")
    act(
        engine,
        P.report,
        wo,
        "0010",
        workstation="ws-10",
        operator="E1",
        tolerance_percent=0,
        rework=3,
        rework_reason="DENT",
    )
    act(
        engine,
        P.report_scrap,
        wo,
        "0010",
        quantity=1,
        reason="BURR",
        workstation="ws-10",
        operator="E1",
        tolerance_percent=0,
    )
    act(
        engine,
        P.report,
        wo,
        "0010",
        workstation="ws-10",
        operator="E1",
        tolerance_percent=0,
        good=2,
        from_rework=2,
    )
    _, o = op(engine, wo, "0010")
    assert (o.good, o.scrap, o.rework, o.released) == (2, 1, 1, 2)
    good(engine, wo, "0010", "ws-10", 6)
    refused("QUANTITY_ABOVE_ORDER", good, engine, wo, "0010", "ws-10", 1)
    confs = outbox(engine, "confirmation")
    assert [(c["good"], c["scrap"], c["rework"]) for c in confs] == [
        (0, 0, 3),
        (0, 1, 0),
        (2, 0, 0),
        (6, 0, 0),
    ]
    assert confs[1]["scrap_reasons"] == {"BURR": 1}


def test_correction_is_a_compensating_event(engine):
    wo = release(engine, "PO-C", 10)
    start(engine, wo, "0010", "ws-10")
    ev = good(engine, wo, "0010", "ws-10", 5)
    start(engine, wo, "0020", "ws-20")
    good(engine, wo, "0020", "ws-20", 1)
    msg = refused(
        "CORRECTION_NOT_POSSIBLE",
        act,
        engine,
        P.correct_event,
        ev.id,
        actor="sup",
        reason="double scan",
    )
    assert "0020 already processed 1" in msg
    ev2 = good(engine, wo, "0010", "ws-10", 3)
    fix = act(engine, P.correct_event, ev2.id, actor="sup", reason="double scan")
    assert fix.correction_of == ev2.id
    assert fix.good == -3
    refused(
        "CORRECTION_NOT_POSSIBLE", act, engine, P.correct_event, ev2.id, actor="sup", reason="again"
    )
    _, o = op(engine, wo, "0010")
    assert (o.good, o.released) == (5, 5)
    confs = outbox(engine, "confirmation")
    assert confs[-1]["correction_of"] == confs[-2]["message_id"] == ev2.confirmation_message_id
    assert confs[-1]["good"] == -3
    with Session(engine) as s:
        original = s.get(ProductionEvent, ev2.id)
        assert original.good == 3  # history unchanged
        original.good = 0
        s.add(original)
        with pytest.raises(AppendOnlyViolation):
            s.commit()


def test_partial_completion_stays_on_the_work_order(engine):
    wo = release(engine, "PO-X", 10)
    start(engine, wo, "0010", "ws-10")
    good(engine, wo, "0010", "ws-10", 7)
    act(engine, P.complete_operation, wo, "0010", workstation="ws-10", operator="E1")
    start(engine, wo, "0020", "ws-20")
    good(engine, wo, "0020", "ws-20", 7)
    act(engine, P.complete_operation, wo, "0020", workstation="ws-20", operator="E1")
    w, _ = op(engine, wo, "0020")
    assert w.status == "COMPLETED"
    with Session(engine) as s:
        assert len(s.exec(select(WorkOrder)).all()) == 1  # no backorder
    final = [c for c in outbox(engine, "confirmation") if c["final"]]
    assert len(final) == 1
    assert final[0]["message_id"] == w.final_message_id


def test_several_operators_and_stations_of_a_work_centre(sqlite_url):
    data = yaml.safe_load(PLANT_YAML.read_text())
    data.pop("devices")
    data.get("performance", {}).pop("work_units", None)  # they name devices
    data.pop("alarms", None)
    data["workstations"].append(
        {"id": "ws-11", "path": "stamping/line1/cell1", "work_centre": "PRESS"}
    )
    data["routings"][0]["operations"][0].pop("workstation")
    data["routings"][0]["operations"][0]["work_centre"] = "PRESS"
    eng = migrated_engine(sqlite_url, parse_plant(data, environ={}))
    wo = release(eng, "PO-WC", 10)
    start(eng, wo, "0010", "ws-10", "E1")
    start(eng, wo, "0010", "ws-11", "E2")
    good(eng, wo, "0010", "ws-10", 4, "E1")
    good(eng, wo, "0010", "ws-11", 5, "E2")
    refused("WRONG_WORKSTATION", start, eng, wo, "0010", "ws-20")
    _, o = op(eng, wo, "0010")
    assert o.good == 9
    ops = [c["operators"] for c in outbox(eng, "confirmation")]
    assert ops == [["E1"], ["E2"]]
    job = act(eng, P.select_job, wo, None, workstation="ws-11")
    assert job.operation == "0010"
    eng.dispose()


def test_abort_a_started_order(engine):
    wo = release(engine, "PO-AB", 10)
    refused("ILLEGAL_STATE", act, engine, P.abort_work_order, wo, actor="sup", reason="x")
    start(engine, wo, "0010", "ws-10")
    act(engine, P.hold_work_order, wo, "H-1", "suspect")
    refused("REASON_REQUIRED", act, engine, P.abort_work_order, wo, actor="sup", reason="")
    act(engine, P.abort_work_order, wo, actor="sup", reason="die broken")
    assert op(engine, wo, "0010")[0].status == "ABORTED"
    refused("WORK_ORDER_NOT_ACTIVE", good, engine, wo, "0010", "ws-10", 1)
