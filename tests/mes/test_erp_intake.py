# ruff: noqa: F811 - pytest fixtures are imported from orders_support
"""ERP intake against the database (SQLite and PostgreSQL): explode, idempotency, no half-apply."""

from sqlmodel import Session, select

from mes.orders.models import ErpOrder, Operation, WorkOrder
from mes.wiring import production as build_production
from tests.mes.orders_support import (  # noqa: F401
    db_url,
    engine,
    intake,
    order_message,
    outbox,
    pg_template,
    plant,
    release,
    release_message,
)

P = build_production()


def operations(engine, number):
    with Session(engine) as s:
        wo = s.exec(select(WorkOrder).where(WorkOrder.number == number)).one()
        ops = s.exec(select(Operation).where(Operation.work_order_id == wo.id)).all()
        return wo, sorted(ops, key=lambda o: o.seq)


def test_release_explodes_along_the_routing(engine):
    number = release(engine, "PO-1", 500)
    wo, ops = operations(engine, number)
    assert number == f"WO-{wo.id:06d}"
    assert (wo.status, wo.quantity, wo.product) == ("RELEASED", 500, "BRKT-200")
    assert wo.due_at.utcoffset().total_seconds() == 0
    assert [(o.number, o.workstation, o.status) for o in ops] == [
        ("0010", "ws-10", "READY"),
        ("0020", "ws-20", "BLOCKED"),
    ]
    assert ops[0].setup_time_s == 600
    assert "STEEL-2MM" in ops[0].components_json


def test_idempotent_by_message_id_and_by_erp_id(engine):
    msg = release_message("PO-2", 10)
    first = intake(engine, msg)
    again = intake(engine, msg)
    assert again.outcome == "duplicate"
    assert again.work_order == first.work_order
    # same erp_id, new message id, not started: replaced in place, same work order
    replaced = intake(engine, release_message("PO-2", 12))
    assert replaced.work_order == first.work_order
    wo, ops = operations(engine, first.work_order)
    assert wo.quantity == 12
    assert len(ops) == 2
    with Session(engine) as s:
        assert len(s.exec(select(ErpOrder).where(ErpOrder.erp_id == "PO-2")).all()) == 1


def test_change_and_cancel(engine):
    number = release(engine, "PO-3", 10)
    assert intake(engine, order_message("order.change", "PO-3", quantity=8)).outcome == "applied"
    assert operations(engine, number)[0].quantity == 8
    assert intake(engine, order_message("order.cancel", "PO-3")).outcome == "applied"
    assert operations(engine, number)[0].status == "CANCELLED"
    assert intake(engine, order_message("order.cancel", "PO-3")).outcome == "applied"


def test_rejections_change_nothing_and_reach_the_outbox(engine):
    number = release(engine, "PO-4", 10)
    with Session(engine) as s:
        P.start_operation(s, number, "0010", workstation="ws-10", operator="E1")
        P.report_good(
            s, number, "0010", quantity=6, workstation="ws-10", operator="E1", tolerance_percent=0
        )
        s.commit()
    cases = {
        "ORDER_RUNNING": order_message("order.cancel", "PO-4"),
        "QUANTITY_BELOW_REPORTED": order_message("order.change", "PO-4", quantity=5),
        "ORDER_STARTED": release_message("PO-4", 20),
        "UNKNOWN_ROUTING": release_message("PO-5", 20, routing="RT-NONE"),
    }
    for code, msg in cases.items():
        result = intake(engine, msg)
        assert result.outcome == "rejected"
        assert result.rejection.code == code
    wo, _ = operations(engine, number)
    assert (wo.status, wo.quantity) == ("RUNNING", 10)
    rejected = outbox(engine, "rejection")
    assert [r["error"]["code"] for r in rejected] == list(cases)
    assert rejected[1]["received"] == cases["QUANTITY_BELOW_REPORTED"]
    with Session(engine) as s:
        assert s.exec(select(WorkOrder).where(WorkOrder.erp_id == "PO-5")).first() is None
    # the rejected message id is remembered: a resend is a duplicate, not a second rejection
    assert intake(engine, cases["ORDER_RUNNING"]).outcome == "duplicate"
    assert len(outbox(engine, "rejection")) == 4


def test_nul_characters_are_rejected_not_a_database_error(engine):
    msg = release_message("PO-\u0000", 5)
    result = intake(engine, msg)
    assert result.outcome == "rejected"
    assert result.rejection.code == "INVALID_MESSAGE"
    assert "NUL" in result.rejection.message
    raw = intake(engine, b'{"v": 1, "message_id": "a\x00b"}')
    assert raw.rejection.code == "INVALID_MESSAGE"
    assert len(outbox(engine, "rejection")) == 2
