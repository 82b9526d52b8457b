# ruff: noqa: F811 - pytest fixtures are imported from orders_support
"""Genealogy: lots and serials consumed and produced, traced forward and backward, including
several serials built in one report and a serial consumed again by another work order."""

import pytest
from sqlmodel import Session

from mes.core.errors import Refusal
from mes.production import genealogy as G
from mes.production.rules import Material, ProducedUnit
from mes.wiring import production as build_production
from tests.mes.orders_support import db_url, engine, outbox, pg_template, plant, release  # noqa: F401

P = build_production()


def consume(s, wo, opno, ws, **material):
    return P.consume_material(
        s, wo, opno, workstation=ws, operator="E1", material=Material(**material)
    )


def test_trace_forward_and_backward_across_work_orders(engine):
    wo1 = release(engine, "PO-G1", 3)
    wo2 = release(engine, "PO-G2", 1)
    with Session(engine) as s:
        P.start_operation(s, wo1, "0010", workstation="ws-10", operator="E1")
        # GTIN only: the operation's single BOM component is assumed (STEEL-2MM)
        consume(s, wo1, "0010", "ws-10", gtin="09506000134352", lot="L1", quantity=0.6)
        consume(s, wo1, "0010", "ws-10", gtin="09506000134352", lot="L2", quantity=0.3)
        P.report_good(
            s, wo1, "0010", quantity=3, workstation="ws-10", operator="E1", tolerance_percent=0
        )
        P.complete_operation(s, wo1, "0010", workstation="ws-10", operator="E1")
        P.start_operation(s, wo1, "0020", workstation="ws-20", operator="E1")
        with pytest.raises(Refusal, match="add up to 2, not 1"):
            P.report_good(
                s,
                wo1,
                "0020",
                quantity=1,
                workstation="ws-20",
                operator="E1",
                tolerance_percent=0,
                produced=[ProducedUnit("S4", "serial"), ProducedUnit("S5", "serial")],
            )
        P.report_good(
            s,
            wo1,
            "0020",
            quantity=3,
            workstation="ws-20",
            operator="E1",
            tolerance_percent=0,
            produced=[ProducedUnit(f"S{i}", "serial") for i in (1, 2, 3)],
        )
        s.commit()
    with Session(engine) as s:
        # serial S2 is a component of another order's lot
        P.start_operation(s, wo2, "0010", workstation="ws-10", operator="E2")
        consume(s, wo2, "0010", "ws-10", product="BRKT-200", serial="S2")
        P.report_good(
            s, wo2, "0010", quantity=1, workstation="ws-10", operator="E2", tolerance_percent=0
        )
        P.complete_operation(s, wo2, "0010", workstation="ws-10", operator="E2")
        P.start_operation(s, wo2, "0020", workstation="ws-20", operator="E2")
        P.report_good(
            s,
            wo2,
            "0020",
            quantity=1,
            workstation="ws-20",
            operator="E2",
            tolerance_percent=0,
            produced=[ProducedUnit("LOT-B", "lot", 1)],
        )
        s.commit()
    with Session(engine) as s:
        back = G.trace_backward(s, "S2")
        assert {(n.kind, n.code, n.product) for n in back} == {
            ("lot", "L1", "STEEL-2MM"),
            ("lot", "L2", "STEEL-2MM"),
        }
        fwd = G.trace_forward(s, "L1")
        assert [(n.code, n.work_order, n.depth) for n in fwd] == [
            ("S1", wo1, 1),
            ("S2", wo1, 1),
            ("S3", wo1, 1),
            ("LOT-B", wo2, 2),
        ]
        deep = G.trace_backward(s, "LOT-B")
        assert {n.code for n in deep} == {"S2", "L1", "L2"}
        assert G.trace_forward(s, "unknown") == []
    confs = outbox(engine, "confirmation")
    steel = [c["materials_consumed"] for c in confs if c["materials_consumed"]]
    assert steel[0] == [{"product": "STEEL-2MM", "lot": "L1", "quantity": 0.6, "unit": "kg"}]
    produced = [c["produced"] for c in confs if c["produced"] and c["erp_id"] == "PO-G1"]
    assert produced == [
        [
            {"serial": "S1", "quantity": 1},
            {"serial": "S2", "quantity": 1},
            {"serial": "S3", "quantity": 1},
        ]
    ]


def test_lot_consumed_after_production_is_linked_and_serials_are_unique(engine):
    wo = release(engine, "PO-G3", 5)
    with Session(engine) as s:
        P.start_operation(s, wo, "0010", workstation="ws-10", operator="E1")
        P.report_good(
            s, wo, "0010", quantity=5, workstation="ws-10", operator="E1", tolerance_percent=0
        )
        P.complete_operation(s, wo, "0010", workstation="ws-10", operator="E1")
        P.start_operation(s, wo, "0020", workstation="ws-20", operator="E1")
        P.report_good(
            s, wo, "0020", quantity=2, workstation="ws-20", operator="E1", tolerance_percent=0
        )  # default finished lot of the work order
        consume(s, wo, "0020", "ws-20", product="STEEL-2MM", lot="L9", quantity=1)
        with pytest.raises(Refusal, match="needs a lot"):
            consume(s, wo, "0020", "ws-20", gtin="09506000134352")
        s.commit()
    with Session(engine) as s:
        fwd = G.trace_forward(s, "L9")
        assert [(n.kind, n.code) for n in fwd] == [("lot", f"BRKT-200-{wo[3:]}")]
